//go:build unix

package supervisor

import (
	"context"
	"syscall"
	"testing"
	"time"
)

// A StartGroup asked once a stop-all was accepted keeps a sidecar the
// stop-all has marked but not reached yet (db waits for web, which depends
// on it and is in its stop grace): it is started in the wanted sense, so
// the stop-all leaves it running. Before, StartGroup took the running db
// for started and the stop-all stopped it next.
func TestStartGroupAfterStopAllAcceptedKeepsSidecar(t *testing.T) {
	db := fixtureSpec(t, "db")
	web := fixtureSpec(t, "web", "-ignore-sigterm")
	web.DependsOn = []string{"db"}
	web.StopTimeout = 10 * time.Minute // its stop lasts until the test ends it
	h := newHarness(t, Options{}, db, web)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := h.sup.StartGroup(ctx, []string{"web"}); err != nil {
		t.Fatalf("StartGroup: %v", err)
	}
	webPID, dbPID := h.ready("web").PID, h.ready("db").PID
	defer syscall.Kill(webPID, syscall.SIGKILL) // Close would wait for the grace otherwise

	accepted := make(chan struct{})
	stopped := make(chan error, 1)
	go func() { stopped <- h.sup.StopAllAccepted(ctx, func() { close(accepted) }) }()
	select {
	case <-accepted:
	case <-ctx.Done():
		t.Fatal("stop-all never accepted")
	}
	for _, n := range h.sup.Names() {
		if st, _ := h.sup.Status(n); st.Wanted {
			t.Errorf("%s still wanted once the stop-all was accepted (%s)", n, st.State)
		}
	}
	h.waitState("web", Stopping)

	if err := h.sup.StartGroup(ctx, []string{"db"}); err != nil {
		t.Fatalf("StartGroup db after the stop-all was accepted: %v", err)
	}
	syscall.Kill(webPID, syscall.SIGKILL)
	if err := <-stopped; err != nil {
		t.Fatalf("StopAll: %v", err)
	}
	if st, _ := h.sup.Status("db"); st.State != Ready || st.PID != dbPID || !st.Wanted {
		t.Fatalf("db after the stop-all: %s pid %d wanted %v, want ready, pid %d, wanted", st.State, st.PID, st.Wanted, dbPID)
	}
	if st, _ := h.sup.Status("web"); st.State != Stopped || st.Wanted {
		t.Fatalf("web after the stop-all: %s wanted %v, want stopped (dependents first, as asked)", st.State, st.Wanted)
	}
}
