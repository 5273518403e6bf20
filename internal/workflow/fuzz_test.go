package workflow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"unicode/utf8"

	"outrigger/internal/workflow/jsoncheck"
)

// fuzzService serves only echo, which ends at once: every accepted request
// finishes within the iteration.
func fuzzService(f *testing.F) *testService {
	return startService(f, func(o *Options) { o.Workflows = []Workflow{echoWorkflow()}; o.MaxQueued = 1000 })
}

func serveOnce(h http.Handler, method, path string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Host = "127.0.0.1"
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// Any request body to /deploy/stream: no panic and no 500; what the engine
// accepts it stores as given (valid UTF-8 JSON whose input is the bytes
// sent), and its result is reachable at /results; what a decoder would
// change (invalid UTF-8, lone surrogates) is refused with 400.
func FuzzRunRequestBody(f *testing.F) {
	for _, s := range []string{
		`{"workflow_id":"echo","input":{"text":"hello","mode":"both"}}`,
		`{"workflow_id":"echo","input":{"text":"é \u00e9 \ud83d\ude00"},"interaction_id":"seed-1"}`,
		`{"workflow_id":"echo","input":{"text":"a"},"interaction_id":".."}`,
		`{"workflow_id":"echo","input":{"text":"a"},"interaction_id":"a/b"}`,
		"{\"workflow_id\":\"echo\",\"input\":{\"text\":\"a\xffb\"}}",
		`{"workflow_id":"echo","input":{"text":"\ud800"}}`,
		`{"workflow_id":"echo","input":{"text":"a"},"callback_url":"ftp://x"}`,
		`{"workflow_id":"echo","input":{"text":"a"},"response_format":"xml"}`,
		`{"workflow_id":"nope"}`,
		`{"workflow_id":"echo","input":` + strings.Repeat(`{"a":`, 200) + `1` + strings.Repeat(`}`, 200) + `}`,
		`{"workflow_id":"echo","input":{"text":"a"}} trailing`,
		`[]`, `null`, ``, `{`,
	} {
		f.Add([]byte(s))
	}
	ts := fuzzService(f)
	h := ts.Handler()
	var n atomic.Int64
	f.Fuzz(func(t *testing.T, body []byte) {
		// A fresh id per iteration, unless the body names one.
		var probe map[string]json.RawMessage
		if json.Unmarshal(body, &probe) == nil && probe["interaction_id"] == nil && bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
			body = append([]byte(fmt.Sprintf(`{"interaction_id":"fz-%d",`, n.Add(1))), bytes.TrimSpace(body)[1:]...)
		}
		rec := serveOnce(h, "POST", "/deploy/stream", body)
		switch rec.Code {
		case 200, 400, 404, 409, 413:
		default:
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body.Bytes())
		}
		if jsoncheck.Text(body) != nil && rec.Code != 400 {
			t.Fatalf("status %d for a body a decoder would change: %q", rec.Code, body)
		}
		if !json.Valid(rec.Body.Bytes()) || !utf8.Valid(rec.Body.Bytes()) {
			t.Fatalf("reply is not valid UTF-8 JSON: %q", rec.Body.Bytes())
		}
		if rec.Code != 200 {
			return
		}
		var r Result
		if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil || !Terminal(r.Status) {
			t.Fatalf("reply %s: %v", rec.Body.Bytes(), err)
		}
		var req RunRequest
		json.Unmarshal(body, &req)
		if len(req.Input) > 0 && !sameJSON(r.Input, req.Input) {
			t.Fatalf("input stored as %s, sent as %s", r.Input, req.Input)
		}
		got := serveOnce(h, "GET", "/results/"+url.PathEscape(r.InteractionID), nil)
		var again Result
		if got.Code != 200 || json.Unmarshal(got.Body.Bytes(), &again) != nil || again.ExecutionID != r.ExecutionID {
			t.Fatalf("/results/%s: %d %s", r.InteractionID, got.Code, got.Body.Bytes())
		}
	})
}

// Any interaction_id (raw bytes, not escaped by the fuzzer's JSON): path
// segments "." and "..", "/" and invalid UTF-8 are refused; an accepted id
// reaches its result through /results, and a second run under it is 409.
func FuzzInteractionID(f *testing.F) {
	for _, s := range []string{"a", ".", "..", "...", "a/b", `a\b`, "%2e%2e", "é", "\xff", "a\x00", "?x#y", " ", strings.Repeat("z", 201)} {
		f.Add(s)
	}
	ts := fuzzService(f)
	h := ts.Handler()
	f.Fuzz(func(t *testing.T, id string) {
		if id == "" {
			return // the server makes one up
		}
		// The id goes in as raw bytes, with only '"' and '\' escaped.
		esc := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(id)
		body := []byte(`{"workflow_id":"echo","input":{"text":"a"},"interaction_id":"` + esc + `"}`)
		rec := serveOnce(h, "POST", "/workflow/stream", body)
		segment := id == "." || id == ".." || strings.ContainsAny(id, `/\`)
		switch {
		case rec.Code == 400:
			return
		case rec.Code == 409:
			return // the fuzzer repeats inputs: already used
		case rec.Code != 200:
			t.Fatalf("id %q: status %d %s", id, rec.Code, rec.Body.Bytes())
		case segment || !utf8.ValidString(id):
			t.Fatalf("id %q accepted", id)
		}
		got := serveOnce(h, "GET", "/results/"+url.PathEscape(id), nil)
		var r Result
		if got.Code != 200 || json.Unmarshal(got.Body.Bytes(), &r) != nil || r.InteractionID != id {
			t.Fatalf("id %q: /results gave %d %s", id, got.Code, got.Body.Bytes())
		}
		if again := serveOnce(h, "POST", "/workflow/stream", body); again.Code != 409 {
			t.Fatalf("id %q reused: status %d, want 409", id, again.Code)
		}
	})
}

// sameJSON: a and b decode to the same value (the reply may compact the
// input and escape <, > and & as \u003c…, which decodes the same).
func sameJSON(a, b []byte) bool {
	var va, vb any
	da, db := json.NewDecoder(bytes.NewReader(a)), json.NewDecoder(bytes.NewReader(b))
	da.UseNumber()
	db.UseNumber()
	return da.Decode(&va) == nil && db.Decode(&vb) == nil && reflect.DeepEqual(va, vb)
}
