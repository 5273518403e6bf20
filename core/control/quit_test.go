//go:build unix

package control

import (
	"context"
	"syscall"
	"testing"
	"time"

	"outrigger/core/supervisor"
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
