package control

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Error codes, in the JSON body's "code".
const (
	CodeBadRequest   = "bad_request"
	CodeNotFound     = "not_found"
	CodeMethod       = "method_not_allowed"
	CodeConflict     = "conflict"
	CodeTooLarge     = "too_large"
	CodeFailed       = "failed"
	CodeTimeout      = "timeout"
	CodeUnavailable  = "unavailable"
	CodeUnauthorized = "unauthorized"
)

// ErrorBody is every error's JSON.
type ErrorBody struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

func fail(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, ErrorBody{Error: msg, Code: code})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	boundWrites(w, writeStall)
	_ = json.NewEncoder(w).Encode(v)
}

// boundWrites lets the response's writes from now on block for at most d
// in all: a client that asks and stops reading loses its connection rather
// than holding a handler (and the answer in memory) until the app quits.
// It is set when the answer is ready, never before a wait (?wait= can take
// minutes before anything is written); net/http clears it once the answer
// is done, so a kept-alive connection's next request starts unbounded.
func boundWrites(w http.ResponseWriter, d time.Duration) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(d))
}

// clip quotes what a client sent for a message or the log, cut short: a
// 5 MB value must not become a 5 MB log line.
func clip(s string) string {
	const max = 80
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return strconv.Quote(s[:cut]) + "… (" + strconv.Itoa(len(s)) + " bytes)"
	}
	return strconv.Quote(s)
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}
