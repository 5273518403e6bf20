//go:build unix

package control

import (
	"context"
	"syscall"
	"testing"
	"time"

	"outrigger/core/supervisor"
	"outrigger/internal/testutil"
)

// Once the quit has begun, the API refuses what would start something
// (503 unavailable, "Outrigger is quitting") and nothing starts. Before, a
// start of a sidecar the quit had already stopped was answered 202 and
// started it while another sidecar was still in its stop grace; the end of
// the quit then killed it with SIGKILL, without its own grace. And a show
// was answered as if the instance would stay (a second launch then exited
// saying Outrigger runs, and nothing ran once the quit ended).
func TestCommandsRefusedWhileQuitting(t *testing.T) {
	stubborn := fixtureSpec(t, "stubborn", "-ignore-sigterm")
	stubborn.StopTimeout = 10 * time.Minute // the quit stays under way until the test ends it
	r := newRig(t, rigOpts{start: true}, fixtureSpec(t, "alpha"), stubborn)
	ev := r.subscribe("/v1/events")

	pid := r.status("stubborn").PID

	// The quit, as main's: restarts off and every sidecar stopped. It
	// ends when the test kills stubborn.
	quit := make(chan error, 1)
	go func() { quit <- r.sup.Shutdown(context.Background()) }()
	defer func() {
		syscall.Kill(pid, syscall.SIGKILL)
		if err := <-quit; err != nil {
			t.Errorf("the quit: %v", err)
		}
	}()
	ev.await(t, "alpha stopped by the quit", isState("alpha", supervisor.Stopped))
	if st := r.status("stubborn"); st.State != supervisor.Stopping {
		t.Fatalf("stubborn is %s, want stopping (in its grace)", st.State)
	}

	for _, c := range []struct{ method, path, body string }{
		{"POST", "/v1/sidecars/alpha/start", ""},
		{"POST", "/v1/sidecars/alpha/restart?wait=ready", ""},
		{"POST", "/v1/sidecars/alpha/reset", ""},
		{"POST", "/v1/sidecars/start", ""},
		{"POST", "/v1/show", ""},
		{"PUT", "/v1/mode", `{"mode":"service","service":"alpha"}`},
	} {
		code, body := r.call(c.method, c.path, c.body)
		var eb ErrorBody
		mustJSON(t, body, &eb)
		if code != 503 || eb.Code != CodeUnavailable || eb.Error == "" {
			t.Errorf("%s %s while quitting: %d %s, want 503 %s", c.method, c.path, code, body, CodeUnavailable)
		}
	}
	// The supervisor itself refuses too: a start that passed the API's
	// check just before the quit began cannot land after it.
	if err := r.sup.Start(context.Background(), "alpha"); err == nil {
		t.Error("supervisor Start while quitting: nil error")
	}
	if st := r.status("alpha"); st.State != supervisor.Stopped || st.PID != 0 {
		t.Fatalf("alpha is %s (pid %d) while quitting, want stopped", st.State, st.PID)
	}
	// What only looks still answers: `outrigger quit` follows the events.
	if code, _ := r.call("GET", "/v1/sidecars", ""); code != 200 {
		t.Errorf("GET /v1/sidecars while quitting: %d", code)
	}
}

// A restart without ?wait answers 202 once the old run is ending for it,
// not once the new run is up: that takes the old run's whole stop, up to
// its stop_timeout for a sidecar that ignores SIGTERM. Before, the request
// waited for all of it, and `outrigger restart NAME` gave up after 30 s
// saying the instance did not answer (is it hung?), exit 1, while the
// restart went on and succeeded.
func TestRestartWithoutWaitAnswersOnceUnderWay(t *testing.T) {
	stubborn := fixtureSpec(t, "stubborn", "-ignore-sigterm")
	// Longer than the API's DefaultWait, so the old code's answer could
	// not come in time; short enough that a failed run's Close (which
	// waits for the grace) ends.
	stubborn.StopTimeout = 2 * time.Minute
	r := newRig(t, rigOpts{start: true}, stubborn)
	old := r.status("stubborn").PID
	ev := r.subscribe("/v1/events")

	code, body := r.call("POST", "/v1/sidecars/stubborn/restart", "")
	if code != 202 {
		t.Fatalf("restart without wait: %d %s, want 202 while the old run is in its stop grace", code, body)
	}
	var res ActionResult
	mustJSON(t, body, &res)
	if res.Done || len(res.Sidecars) != 1 || res.Sidecars[0].State != supervisor.Stopping || !res.Sidecars[0].Wanted {
		t.Errorf("restart answered %s, want not done, stubborn stopping and wanted", body)
	}
	if !testutil.ProcessAlive(old) {
		t.Errorf("the old run (pid %d) is gone: the answer did not come while it was ending", old)
	}

	// The restart goes on: end the old run's grace, see the new run, then
	// end that one too (it would hold the rig's Close for its grace).
	syscall.Kill(old, syscall.SIGKILL)
	e := ev.await(t, "stubborn ready again", func(e Event) bool {
		return isState("stubborn", supervisor.Ready)(e) && e.Status.PID != old
	})
	syscall.Kill(e.Status.PID, syscall.SIGKILL)
	ev.await(t, "stubborn's new run killed", func(e Event) bool {
		return e.Sidecar == "stubborn" && e.Status != nil && !e.Status.State.HasProcess()
	})
}
