//go:build unix

package control

import (
	"syscall"
	"testing"
	"time"

	"outrigger/core/supervisor"
)

// stopAllRig is web (ignores SIGTERM; its stop lasts until the test kills
// it) depending on db, both Ready, and a stop-all accepted: web is in its
// stop grace and db, which stops only after web, is still running.
func stopAllRig(t *testing.T) (r *rig, ev *sse, webPID, dbPID int) {
	t.Helper()
	db := fixtureSpec(t, "db")
	web := fixtureSpec(t, "web", "-ignore-sigterm")
	web.DependsOn = []string{"db"}
	web.StopTimeout = 10 * time.Minute // the stop stays under way until the test ends it
	r = newRig(t, rigOpts{start: true}, db, web)
	ev = r.subscribe("/v1/events")
	webPID, dbPID = r.status("web").PID, r.status("db").PID
	old := webPID
	t.Cleanup(func() { // the rig's Close would wait for web's grace
		syscall.Kill(old, syscall.SIGKILL)
		if st, _ := r.sup.Status("web"); st.PID > 0 {
			syscall.Kill(st.PID, syscall.SIGKILL)
		}
	})

	code, body := r.call("POST", "/v1/sidecars/stop", "")
	if code != 202 {
		t.Fatalf("stop all: %d %s, want 202", code, body)
	}
	// "Accepted" means every stop has begun: no sidecar is wanted any
	// more, also db, whose process waits for web's to end.
	var res ActionResult
	mustJSON(t, body, &res)
	for _, st := range res.Sidecars {
		if st.Wanted {
			t.Errorf("stop all accepted with %s still wanted (%s)", st.Name, st.State)
		}
	}
	ev.await(t, "web in its stop grace", isState("web", supervisor.Stopping))
	if st := r.status("db"); st.State != supervisor.Ready || st.PID != dbPID {
		t.Fatalf("db is %s (pid %d) while web stops, want still ready (pid %d): dependents stop first", st.State, st.PID, dbPID)
	}
	return r, ev, webPID, dbPID
}

// A start of a sidecar that a stop-all accepted before has not stopped yet
// (it waits for its dependents) wins: it is answered as a start and the
// sidecar keeps running once the stop-all is over. Before, the start was
// refused (409 "already ready") and the stop-all stopped it anyway.
func TestStartAfterStopAllKeepsSidecar(t *testing.T) {
	r, ev, webPID, dbPID := stopAllRig(t)

	code, body := r.call("POST", "/v1/sidecars/db/start", "")
	if code != 202 {
		t.Fatalf("start db after stop all: %d %s, want 202", code, body)
	}
	if st := r.status("db"); !st.Wanted || st.PID != dbPID {
		t.Fatalf("db after its start: wanted %v pid %d, want wanted, pid %d (the same run)", st.Wanted, st.PID, dbPID)
	}

	// web's stop, which the start did not ask to undo, ends; the stop-all
	// goes on to db's turn, which the start has cancelled.
	syscall.Kill(webPID, syscall.SIGKILL)
	ev.await(t, "web stopped", isState("web", supervisor.Stopped))
	if err := r.srv.Close(); err != nil { // returns once the stop-all job has ended
		t.Fatal(err)
	}
	if st, _ := r.sup.Status("db"); st.State != supervisor.Ready || st.PID != dbPID || !st.Wanted {
		t.Fatalf("db after the stop-all ended: %s pid %d wanted %v, want ready, pid %d, wanted", st.State, st.PID, st.Wanted, dbPID)
	}
	if st, _ := r.sup.Status("web"); st.State != supervisor.Stopped || st.Wanted {
		t.Fatalf("web after the stop-all ended: %s wanted %v, want stopped", st.State, st.Wanted)
	}
}

// `outrigger stop --all; outrigger start --all --wait`: the start waits for
// the stop under way (web's grace) and then starts web again; db, never
// stopped, keeps its run. Before, the start failed ("start web: it is
// stopping") and the stop-all then stopped db too: everything ended stopped.
func TestStartAllAfterStopAllWins(t *testing.T) {
	r, ev, webPID, dbPID := stopAllRig(t)

	type answer struct {
		code int
		body []byte
	}
	started := make(chan answer, 1)
	go func() {
		code, body := r.call("POST", "/v1/sidecars/start?wait=ready", "")
		started <- answer{code, body}
	}()
	// The start has reached web (wanted again) while its old run is still
	// in its grace: only then end that run. (A start refused meanwhile
	// answers at once.)
	var a answer
	deadline := time.After(wait)
	for reached := false; !reached; {
		select {
		case e := <-ev.frames:
			reached = isState("web", supervisor.Stopping)(e) && e.Status.Wanted
		case a = <-started:
			t.Fatalf("start all --wait answered while web was stopping: %d %s", a.code, a.body)
		case <-deadline:
			t.Fatalf("the start did not reach web within %v", wait)
		}
	}
	syscall.Kill(webPID, syscall.SIGKILL)
	select {
	case a = <-started:
	case <-time.After(wait):
		t.Fatalf("start all --wait: no answer within %v", wait)
	}
	if a.code != 200 {
		t.Fatalf("start all --wait after stop all: %d %s, want 200", a.code, a.body)
	}
	if err := r.srv.Close(); err != nil { // returns once the stop-all job has ended
		t.Fatal(err)
	}
	web, _ := r.sup.Status("web")
	if web.State != supervisor.Ready || web.PID == webPID || web.PID == 0 || !web.Wanted {
		t.Fatalf("web after the stop-all ended: %s pid %d wanted %v, want ready in a new run", web.State, web.PID, web.Wanted)
	}
	db, _ := r.sup.Status("db")
	if db.State != supervisor.Ready || db.PID != dbPID || !db.Wanted {
		t.Fatalf("db after the stop-all ended: %s pid %d wanted %v, want ready, pid %d, wanted", db.State, db.PID, db.Wanted, dbPID)
	}
}

// A start of a sidecar whose stop a stop-all has begun waits for that stop
// and starts it again, and keeps running what it depends on, which the
// stop-all would otherwise stop next (under the new run's feet).
func TestStartDuringStopAllKeepsItsDependencies(t *testing.T) {
	r, ev, webPID, dbPID := stopAllRig(t)

	code, body := r.call("POST", "/v1/sidecars/web/start", "")
	if code != 202 {
		t.Fatalf("start web while its stop-all stop is under way: %d %s, want 202", code, body)
	}
	if st := r.status("db"); !st.Wanted {
		t.Errorf("db after a start of web, which depends on it: not wanted (the stop-all would stop it)")
	}
	syscall.Kill(webPID, syscall.SIGKILL)
	e := ev.await(t, "web ready in a new run", func(e Event) bool {
		return isState("web", supervisor.Ready)(e) && e.Status.PID != webPID
	})
	if err := r.srv.Close(); err != nil { // returns once the stop-all job has ended
		t.Fatal(err)
	}
	if st, _ := r.sup.Status("web"); st.State != supervisor.Ready || st.PID != e.Status.PID {
		t.Fatalf("web after the stop-all ended: %s pid %d, want ready, pid %d", st.State, st.PID, e.Status.PID)
	}
	if st, _ := r.sup.Status("db"); st.State != supervisor.Ready || st.PID != dbPID || !st.Wanted {
		t.Fatalf("db after the stop-all ended: %s pid %d wanted %v, want ready, pid %d, wanted", st.State, st.PID, st.Wanted, dbPID)
	}
}
