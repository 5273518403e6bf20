//go:build unix

package control

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"outrigger/core/config"
)

func FuzzParseModeRequest(f *testing.F) {
	for _, s := range []string{
		`{"mode":"standalone"}`, `{"mode":"service","service":"alpha"}`, `{"mode":"service"}`,
		`{"mode":"connected","url":"https://gw.example.com"}`, `{"mode":"connected","serverUrl":"http://[::1]:80"}`,
		`{"mode":"service","serviceName":"nope"}`, `{"mode":`, `[]`, `{"mode":"standalone"}{}`, `{"mode":"x","extra":1}`,
		`{"mode":"connected","url":"http://"}`, "{\"mode\":\"\xff\"}", `{"mode":"standalone","url":"x"}`,
	} {
		f.Add([]byte(s))
	}
	known := []string{"alpha", "beta"}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, notFound, err := ParseModeRequest(bytes.NewReader(body), known)
		if err != nil {
			if len(err.Error()) > 600 {
				t.Fatalf("a %d-byte error for a %d-byte body", len(err.Error()), len(body))
			}
			return
		}
		if notFound {
			t.Fatal("notFound without an error")
		}
		switch req.Mode {
		case "standalone":
			if req.Service != "" || req.URL != "" {
				t.Fatalf("standalone with extras accepted: %+v", req)
			}
		case "service":
			if req.Service != "" && req.Service != "alpha" && req.Service != "beta" {
				t.Fatalf("unknown service accepted: %q", req.Service)
			}
		case "connected":
			u, err := url.Parse(req.URL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
				t.Fatalf("bad gateway URL accepted: %q", req.URL)
			}
		default:
			t.Fatalf("mode %q accepted", req.Mode)
		}
	})
}

func FuzzParseWait(f *testing.F) {
	for _, s := range []string{"wait=ready&timeout=30s", "wait=stopped", "timeout=5", "wait=x", "timeout=-1s", "timeout=99999h", "timeout=1e9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, query string) {
		q, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		w, err := ParseWait(q)
		if err != nil {
			return
		}
		if w.Timeout <= 0 || w.Timeout > MaxWait || (w.For != "" && w.For != "ready" && w.For != "stopped") {
			t.Fatalf("ParseWait(%q) = %+v", query, w)
		}
	})
}

// FuzzHandler sends arbitrary requests to the API over a supervisor whose
// sidecars can never start (their binary is missing): every answer is JSON
// with a known status, never a panic or a 500, and none quits.
func FuzzHandler(f *testing.F) {
	for _, s := range [][3]string{
		{"GET", "/v1/sidecars", ""}, {"GET", "/v1/sidecars/alpha", ""}, {"POST", "/v1/sidecars/alpha/start", ""},
		{"POST", "/v1/sidecars/alpha/stop?wait=stopped&timeout=1s", ""}, {"POST", "/v1/sidecars/start?wait=ready&timeout=1s", ""},
		{"PUT", "/v1/mode", `{"mode":"standalone"}`}, {"PUT", "/v1/mode?wait=done&timeout=2s", `{"mode":"connected","url":"http://127.0.0.1:1"}`},
		{"GET", "/v1/sidecars/alpha/logs?tail=5", ""}, {"GET", "/v1/version", ""}, {"POST", "/v1/show", "{}"},
		{"DELETE", "/v1/sidecars/alpha", ""}, {"GET", "/v1/sidecars/%2e%2e", ""}, {"POST", "/v1/quit", "x"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	missing := config.DefaultSpec("alpha", 1)
	missing.Binary = "no-such-binary"
	h := newRig(f, rigOpts{}, missing).srv.Handler()
	f.Fuzz(func(t *testing.T, method, target, body string) {
		if !validMethod(method) || !strings.HasPrefix(target, "/") || strings.ContainsAny(target, " \r\n\x00#") ||
			method == "GET" && strings.Contains(target, "follow") || strings.Contains(target, "/events") ||
			strings.Contains(target, "/quit") {
			return // not a request line a client can send; or a stream that never ends
		}
		u, err := url.ParseRequestURI(target)
		if err != nil {
			return
		}
		req := httptest.NewRequest(method, u.RequestURI(), strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case 200, 202, 400, 404, 405, 409, 413, 503:
		default:
			t.Fatalf("%s %s: status %d %s", method, target, rec.Code, rec.Body.String())
		}
		if strings.Contains(target, "/logs") && rec.Code == 200 {
			return // NDJSON
		}
		var v map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
			t.Fatalf("%s %s: %d with a body that is not JSON: %q", method, target, rec.Code, rec.Body.String())
		}
		if rec.Code >= 400 && (v["error"] == nil || v["code"] == nil) {
			t.Fatalf("%s %s: %d without error and code: %s", method, target, rec.Code, rec.Body.String())
		}
	})
}

func validMethod(m string) bool {
	switch m {
	case "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS":
		return true
	}
	return false
}
