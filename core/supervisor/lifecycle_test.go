//go:build linux

package supervisor

import (
	"strings"
	"testing"
	"time"
)

// ringHas reports whether a line of name's ring contains s.
func ringHas(h *harness, name, s string) bool {
	for _, l := range h.sup.Logs(name).Lines() {
		if strings.Contains(l.Text, s) {
			return true
		}
	}
	return false
}

// TestStopGraceOutlivesTheLeader: a Stop gives the whole group its
// stop_timeout, also when the leader exits at once on SIGTERM and the
// server it started (a launcher, a shell wrapper, a --onefile bootloader
// that does not forward signals) takes a few seconds to drain. Before, the
// run's readers were forced closed 2 s after the leader's exit, and the
// group SIGKILLed with them: the server's drain cut short at 2 s with a
// stop_timeout of a minute, its last lines lost.
func TestStopGraceOutlivesTheLeader(t *testing.T) {
	x := fixtureSpec(t, "drain", "-fork-grandchild", "-shutdown-delay", "5s")
	x.StopTimeout = time.Minute
	h := newHarness(t, Options{}, x)
	h.start("drain")
	st := h.ready("drain")
	server, ppid := servingPID(t, st.Port)
	if ppid != st.PID {
		t.Fatalf("the server %d is the child of %d, want of the leader %d", server, ppid, st.PID)
	}
	h.track(server)
	h.stop("drain")
	if !ringHas(h, "drain", "fixture: shut down after 5s") {
		t.Fatalf("the server's drain was cut short: no shut-down line; its last lines:\n%s", tail(h, "drain", 10))
	}
	s, _ := h.sup.Status("drain")
	if s.State != Stopped {
		t.Fatalf("state %s after Stop, want stopped", s.State)
	}
}

// tail is name's last n ring lines, for a failure message.
func tail(h *harness, name string, n int) string {
	ls := h.sup.Logs(name).Lines()
	var b strings.Builder
	for _, l := range ls[max(0, len(ls)-n):] {
		b.WriteString(l.Text)
		b.WriteByte('\n')
	}
	return b.String()
}
