//go:build unix

package supervisor

import (
	"context"
	"syscall"
	"testing"
	"time"

	"outrigger/internal/testutil"
)

// The sweep's "gone" report for a leader during a stop's grace does not cut
// the grace short: the leader may be gone while the server it started
// drains, and stop_timeout is that server's time. (Outside a stop the
// report ends the group, as the leader's exit would.) The fixture ignores
// SIGTERM, so only a kill ends it: the report must not be one.
func TestGoneReportKeepsAStopsGrace(t *testing.T) {
	spec := fixtureSpec(t, "drain", "-ignore-sigterm")
	spec.StopTimeout = 10 * time.Minute // only the test's own kill ends it
	h := newHarness(t, Options{}, spec)
	h.start("drain")
	st := h.ready("drain")

	stopped := make(chan error, 1)
	go func() { stopped <- h.sup.Stop(context.Background(), "drain") }()
	testutil.Eventually(t, wait, func() bool {
		s, _ := h.sup.Status("drain")
		return s.State == Stopping
	}, "the stop to begin its grace")

	h.sup.ReportGone("drain", st.PID, "zombie")
	// The loop has handled the report once it has taken it from the
	// mailbox and then answered a command (one loop turn handles both in
	// that order).
	c := h.sup.cars["drain"]
	testutil.Eventually(t, wait, func() bool {
		c.mail.mu.Lock()
		defer c.mail.mu.Unlock()
		return c.mail.pending[cmdGone] == nil
	}, "the loop to take the report")
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := h.sup.UpdateSpec(ctx, spec); err != nil {
		t.Fatalf("the loop did not answer: %v", err)
	}
	// A kill sent while handling it would have ended the process within
	// milliseconds; a second is far beyond that.
	for end := time.Now().Add(time.Second); time.Now().Before(end); {
		if !testutil.ProcessAlive(st.PID) {
			t.Fatal("the report ended the process during the stop's grace")
		}
		time.Sleep(20 * time.Millisecond) // watching for a death that must not come
	}
	select {
	case err := <-stopped:
		t.Fatalf("Stop returned (%v) during the grace", err)
	default:
	}

	// The grace ends as a stop_timeout would end it.
	if err := syscall.Kill(-st.PGID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("Stop: %v", err)
		}
	case <-time.After(wait):
		t.Fatal("Stop did not return once the group was killed")
	}
}
