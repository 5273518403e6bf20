package httpguard

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestGuard(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	h := Policy{Hosts: []string{"outrigger.test"}, Origins: []string{"http://localhost:5173"}}.Wrap(ok)
	cases := []struct {
		name, method, host, origin, site, ctype, body string
		want                                          int
		wantCode                                      string
	}{
		{name: "plain loopback GET", method: "GET", host: "127.0.0.1:8001", want: 418},
		{name: "localhost", method: "GET", host: "localhost:8001", want: 418},
		{name: "ipv6 loopback", method: "GET", host: "[::1]:8001", want: 418},
		{name: "127/8", method: "GET", host: "127.0.0.2", want: 418},
		{name: "configured name", method: "GET", host: "Outrigger.Test:80", want: 418},
		{name: "rebinding host", method: "GET", host: "attacker.rebind.example:8001", want: 403, wantCode: CodeHost},
		{name: "lan address", method: "GET", host: "192.168.1.5:8001", want: 403, wantCode: CodeHost},
		{name: "empty host", method: "GET", host: "", want: 403, wantCode: CodeHost},
		{name: "localhost suffix trick", method: "GET", host: "localhost.evil.example", want: 403, wantCode: CodeHost},
		{name: "forged origin", method: "POST", host: "127.0.0.1:8001", origin: "http://evil.example", ctype: "application/json", body: "{}", want: 403, wantCode: CodeOrigin},
		{name: "null origin", method: "POST", host: "127.0.0.1:8001", origin: "null", ctype: "application/json", body: "{}", want: 403, wantCode: CodeOrigin},
		{name: "other local port", method: "GET", host: "127.0.0.1:8001", origin: "http://127.0.0.1:9999", want: 403, wantCode: CodeOrigin},
		{name: "same origin", method: "POST", host: "127.0.0.1:8001", origin: "http://127.0.0.1:8001", ctype: "application/json", body: "{}", want: 418},
		{name: "listed origin", method: "POST", host: "127.0.0.1:8001", origin: "http://localhost:5173", ctype: "application/json", body: "{}", want: 418},
		{name: "cross-site no-cors GET", method: "GET", host: "127.0.0.1:8001", site: "cross-site", want: 403, wantCode: CodeOrigin},
		{name: "same-site fetch metadata", method: "GET", host: "127.0.0.1:8001", site: "same-origin", want: 418},
		{name: "text/plain POST", method: "POST", host: "127.0.0.1:8001", ctype: "text/plain", body: "{}", want: 415, wantCode: CodeContentType},
		{name: "form POST", method: "POST", host: "127.0.0.1:8001", ctype: "application/x-www-form-urlencoded", body: "a=b", want: 415, wantCode: CodeContentType},
		{name: "no content type with body", method: "POST", host: "127.0.0.1:8001", body: "{}", want: 415, wantCode: CodeContentType},
		{name: "json with charset", method: "PUT", host: "127.0.0.1:8001", ctype: "application/json; charset=utf-8", body: "{}", want: 418},
		{name: "body-less POST", method: "POST", host: "127.0.0.1:8001", want: 418},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(c.method, "/x", strings.NewReader(c.body))
			r.Host = c.host
			if c.body == "" {
				r.ContentLength = 0
				r.Body = http.NoBody
			}
			for k, v := range map[string]string{"Origin": c.origin, "Sec-Fetch-Site": c.site, "Content-Type": c.ctype} {
				if v != "" {
					r.Header.Set(k, v)
				}
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != c.want {
				t.Fatalf("status %d, want %d (%s)", w.Code, c.want, w.Body.String())
			}
			if c.wantCode != "" {
				var body struct{ Error, Code string }
				if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Code != c.wantCode || body.Error == "" {
					t.Fatalf("body %q: %v", w.Body.String(), err)
				}
			}
			acao := w.Header().Get("Access-Control-Allow-Origin")
			if listed := c.origin == "http://localhost:5173"; listed != (acao != "") {
				t.Fatalf("Access-Control-Allow-Origin %q for origin %q", acao, c.origin)
			}
		})
	}
}

func TestPreflight(t *testing.T) {
	h := Policy{Origins: []string{"http://localhost:5173"}}.Wrap(http.NotFoundHandler())
	for origin, want := range map[string]int{"http://localhost:5173": 204, "http://evil.example": 403} {
		r := httptest.NewRequest("OPTIONS", "/v1/sidecars", nil)
		r.Host = "127.0.0.1:7000"
		r.Header.Set("Origin", origin)
		r.Header.Set("Access-Control-Request-Method", "POST")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != want {
			t.Fatalf("preflight from %s: %d, want %d", origin, w.Code, want)
		}
		if want == 204 && !strings.Contains(w.Header().Get("Access-Control-Allow-Headers"), "Authorization") {
			t.Fatalf("preflight headers %v", w.Header())
		}
	}
}

// A listener on all interfaces (AnyIP) is reached by any of the machine's
// addresses, so any IP literal is a good Host; a name still is not (a
// rebinding page's Host is its own name).
func TestAnyIP(t *testing.T) {
	p := Policy{AnyIP: true}
	for host, want := range map[string]bool{
		"192.168.1.5:7777":   true,
		"[fe80::1]:7777":     true,
		"10.0.0.2":           true,
		"127.0.0.1:7777":     true,
		"attacker.example":   false,
		"192.168.1.5.nip.io": false,
		"":                   false,
	} {
		if got := p.HostAllowed(host); got != want {
			t.Errorf("AnyIP: Host %q allowed %v, want %v", host, got, want)
		}
	}
	if (Policy{}).HostAllowed("192.168.1.5:7777") {
		t.Error("without AnyIP a LAN address passed")
	}
}
