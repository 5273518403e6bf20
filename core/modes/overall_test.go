package modes

import (
	"errors"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"outrigger/core/supervisor"
)

func TestOverall(t *testing.T) {
	st := func(name string, s supervisor.State, mods ...func(*supervisor.Status)) supervisor.Status {
		out := supervisor.Status{Name: name, State: s, HealthOK: s == supervisor.Ready}
		for _, m := range mods {
			m(&out)
		}
		return out
	}
	reason := func(r string) func(*supervisor.Status) { return func(s *supervisor.Status) { s.Reason = r } }
	for _, tc := range []struct {
		name     string
		statuses []supervisor.Status
		wanted   []string
		level    Level
		text     string
		ready    int
		details  int
	}{
		{"nothing wanted", []supervisor.Status{st("a", supervisor.Stopped)}, nil, LevelIdle, "nothing needs to run", 0, 0},
		{"all ready", []supervisor.Status{st("a", supervisor.Ready), st("b", supervisor.Ready)}, []string{"a", "b"},
			LevelOK, "2 of 2 services ready", 2, 0},
		{"one ready", []supervisor.Status{st("a", supervisor.Ready)}, []string{"a"}, LevelOK, "1 service ready", 1, 0},
		// The bug of issue 15.1: the header was green over a stopped auto-start sidecar.
		{"a wanted one stopped", []supervisor.Status{st("wf", supervisor.Ready), st("emb", supervisor.Stopped)},
			[]string{"wf", "emb"}, LevelError, "emb is stopped", 1, 1},
		{"one not wanted is stopped", []supervisor.Status{st("wf", supervisor.Ready), st("emb", supervisor.Stopped)},
			[]string{"wf"}, LevelOK, "1 service ready", 1, 0},
		{"starting", []supervisor.Status{st("a", supervisor.Ready), st("b", supervisor.Starting)}, []string{"a", "b"},
			LevelBusy, "b is starting", 1, 1},
		{"restarting with its reason", []supervisor.Status{st("a", supervisor.Backoff, reason("crashed; restarting in 2s"))},
			[]string{"a"}, LevelBusy, "a is restarting: crashed; restarting in 2s", 0, 1},
		{"ready but failing liveness", []supervisor.Status{st("a", supervisor.Ready, func(s *supervisor.Status) { s.HealthOK = false })},
			[]string{"a"}, LevelWarning, "a is not answering its health check", 0, 1},
		{"worst wins", []supervisor.Status{st("a", supervisor.Starting), st("b", supervisor.Failed, reason("gave up")), st("c", supervisor.Unhealthy)},
			[]string{"a", "b", "c"}, LevelError, "0 of 3 services ready", 0, 3},
		{"unknown", nil, []string{"ghost"}, LevelError, "ghost is not configured", 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Overall(tc.statuses, tc.wanted)
			if s.Level != tc.level || s.Text != tc.text || s.Ready != tc.ready || s.Wanted != len(tc.wanted) || len(s.Details) != tc.details {
				t.Errorf("Overall = %+v; want level %s, text %q, %d of %d ready, %d details", s, tc.level, tc.text, tc.ready, len(tc.wanted), tc.details)
			}
		})
	}
	s := Overall([]supervisor.Status{st("b", supervisor.Failed, reason("gave up"))}, []string{"b"})
	if !slices.Equal(s.Details, []string{"b failed: gave up"}) {
		t.Errorf("details = %q", s.Details)
	}
}

func TestGatewayHealth(t *testing.T) {
	const u = "https://gw.example.com"
	if s := GatewayHealth(u, false, time.Time{}, nil); s.Level != LevelBusy {
		t.Errorf("not checked yet: %+v", s)
	}
	if s := GatewayHealth(u, true, time.Now(), nil); s.Level != LevelOK {
		t.Errorf("reachable: %+v", s)
	}
	s := GatewayHealth(u, false, time.Now(), syscall.ECONNREFUSED)
	if s.Level != LevelWarning || s.Text != "gateway "+u+" does not answer (connection refused)" || len(s.Details) != 1 {
		t.Errorf("unreachable: %+v", s)
	}
	// The combined summary of Connected mode: the gateway's warning wins
	// over an idle set of sidecars; a failed wanted sidecar wins over it.
	idle := Overall(nil, nil)
	if c := worst(s, idle); c.Level != LevelWarning || !strings.Contains(c.Text, "does not answer") {
		t.Errorf("worst(gateway down, idle) = %+v", c)
	}
	failed := Overall([]supervisor.Status{{Name: "a", State: supervisor.Failed}}, []string{"a"})
	if c := worst(s, failed); c.Level != LevelError || len(c.Details) != 2 {
		t.Errorf("worst(gateway down, failed) = %+v", c)
	}
	var ge *GatewayError
	if err := error(&GatewayError{URL: u, Err: syscall.ECONNREFUSED}); !errors.Is(err, ErrGatewayUnreachable) ||
		!errors.Is(err, syscall.ECONNREFUSED) || !errors.As(err, &ge) || ge.URL != u {
		t.Errorf("GatewayError is not ErrGatewayUnreachable and its cause")
	}
}
