package wfapi

import "testing"

// The saved token wins over the environment; the environment is the
// fallback for headless runs; the source is named, the token never.
func TestGatewayCredential(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == GatewayTokenEnv {
				return v
			}
			return ""
		}
	}
	for _, tc := range []struct {
		saved, env, want, source string
	}{
		{"", "", "", ""},
		{"", " fromenv \n", "fromenv", "$OUTRIGGER_GATEWAY_TOKEN"},
		{"fromfile", "fromenv", "fromfile", "gateway_token"},
		{"fromfile", "", "fromfile", "gateway_token"},
	} {
		tok, src := GatewayCredential(tc.saved, env(tc.env))
		if tok != tc.want || src != tc.source {
			t.Errorf("saved %q env %q: got %q from %q, want %q from %q", tc.saved, tc.env, tok, src, tc.want, tc.source)
		}
	}
	if tok, _ := GatewayCredential("", nil); tok != "" {
		t.Errorf("nil getenv gave %q", tok)
	}
}
