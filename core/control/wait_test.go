package control

import (
	"net/url"
	"testing"
)

// A timeout in whole seconds so large that it overflows a time.Duration
// must be refused, not wrapped around into some other (small, or
// negative) timeout: 18446744074 s is 2^64 ns + 0.29 s.
func TestParseWaitRefusesOverflowingSeconds(t *testing.T) {
	for _, v := range []string{"18446744074", "9223372037", "99999999999999999"} {
		w, err := ParseWait(url.Values{"timeout": {v}})
		if err == nil {
			t.Errorf("timeout=%s accepted as %s, want an error (more than %s)", v, w.Timeout, MaxWait)
		}
	}
	if w, err := ParseWait(url.Values{"timeout": {"600"}}); err != nil || w.Timeout != MaxWait {
		t.Errorf("timeout=600: %+v, %v; want %s", w, err, MaxWait)
	}
}
