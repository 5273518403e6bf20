package ui

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"outrigger/core/config"
	"outrigger/core/supervisor"
)

// A crash is told only when the sidecar is not Ready again recoverGrace
// later, rate-limited per sidecar and overall, in one sentence; a give-up
// is always told at once.
func TestNotifierRateLimit(t *testing.T) {
	test.NewTempApp(t)
	u := New(fyne.CurrentApp(), Deps{})
	n := newNotifier(notifierDeps{app: u.app, do: u.do, quitting: func() bool { return u.quitting }, status: u.status})
	now := fixedNow
	n.now = func() time.Time { return now }
	var got []string
	var urgent []bool
	n.send = func(x *fyne.Notification, urg notifyUrgency) {
		got = append(got, x.Title+" | "+x.Content)
		urgent = append(urgent, urg == notifyCritical)
	}
	var due []func()
	n.after = func(d time.Duration, f func()) {
		if d != recoverGrace {
			t.Errorf("check after %v", d)
		}
		due = append(due, f)
	}
	fire := func() {
		fs := due
		due = nil
		for _, f := range fs {
			f()
		}
	}
	set := func(name string, st supervisor.State) {
		u.statuses[name] = supervisor.Status{Name: name, State: st, Wanted: true, Attempt: 1}
	}
	crash := func(name string) {
		set(name, supervisor.Backoff)
		n.event(supervisor.Event{Sidecar: name, Kind: supervisor.EventRestarting,
			Reason: "crashed after running 3s: exit code 1; restarting in 2s (attempt 1)", Delay: 2 * time.Second,
			Status: supervisor.Status{Name: name, State: supervisor.Backoff, LastError: "crashed after running 3s: exit code 1"}})
	}
	// Back within the grace: nothing to tell.
	crash("a")
	set("a", supervisor.Ready)
	fire()
	if len(got) != 0 {
		t.Fatalf("a quick recovery was told: %q", got)
	}
	// Not back: told once, in one sentence without the policy's countdown.
	crash("a")
	fire()
	if len(got) != 1 || got[0] != "a is not back yet | Crashed after running 3s: exit code 1. Outrigger is restarting it." {
		t.Fatalf("slow recovery: %q", got)
	}
	crash("a") // same sidecar, too soon
	fire()
	now = now.Add(10 * time.Second)
	crash("b")
	crash("c")
	crash("d") // over the burst
	fire()
	if len(got) != 3 {
		t.Fatalf("sent %d: %q", len(got), got)
	}
	now = now.Add(crashEvery)
	crash("a")
	fire()
	if len(got) != 4 {
		t.Errorf("a later crash was not told: %q", got)
	}
	// A give-up is told at once and supersedes a pending crash check.
	crash("e")
	n.event(supervisor.Event{Sidecar: "e", Kind: supervisor.EventGaveUp, Reason: "gave up after 11 consecutive failures"})
	n.event(supervisor.Event{Sidecar: "e", Kind: supervisor.EventGaveUp})
	fire()
	if len(got) != 6 || !strings.HasPrefix(got[4], "e failed | Gave up after 11") || !strings.Contains(got[4], "press Start") || !urgent[4] {
		t.Errorf("give-ups: %q", got)
	}
	n.hiddenOnce()
	n.hiddenOnce()
	if len(got) != 7 {
		t.Errorf("hidden-to-tray told %d times", len(got)-6)
	}
}

// A crash loop ends in Failed with a notification; Start resets it: the
// restart count goes back to 0 and it runs again.
func TestStartOnFailedResets(t *testing.T) {
	spec := fixtureSpec(t, "alpha", "-crash-after", "700ms", "-stderr-line", "fixture says boom")
	spec.Restart = config.DefaultRestart()
	spec.Restart.MaxRetries = 1
	spec.Restart.InitialBackoff = 50 * time.Millisecond
	r := newRig(t, &rigOpts{restarts: true}, spec)
	var notes []string
	r.ui.notes.send = func(n *fyne.Notification, _ notifyUrgency) { notes = append(notes, n.Title) }
	c := r.ui.cards["alpha"]
	onUI(func() { test.Tap(c.start) })
	r.cardState("alpha", supervisor.Failed)
	r.until("the give-up notification", func() bool {
		for _, n := range notes {
			if n == "alpha failed" {
				return true
			}
		}
		return false
	})
	onUI(func() {
		if c.st.Restarts == 0 || c.start.Text != "Reset & start" || c.start.Disabled() {
			t.Errorf("failed card: restarts %d, start %q disabled %v", c.st.Restarts, c.start.Text, c.start.Disabled())
		}
		if !c.noteBox.Visible() || !strings.Contains(c.note.Text, "gave up") {
			t.Errorf("failed card note %q", c.note.Text)
		}
		if strings.Count(c.note.Text, "Start") > 1 {
			t.Errorf("failed card note says Start twice: %q", c.note.Text)
		}
		// Crash details: the exit and the last stderr lines, and a copy.
		if !c.copyDet.Visible() || !strings.Contains(c.tail.Text, "fixture says boom") ||
			!strings.Contains(c.tail.Text, c.st.LastExit.String()) {
			t.Errorf("crash details %q (copy shown %v)", c.tail.Text, c.copyDet.Visible())
		}
		test.Tap(c.copyDet)
		if got := r.app.Clipboard().Content(); !strings.HasPrefix(got, "alpha: Failed") || !strings.Contains(got, "fixture says boom") {
			t.Errorf("copied details %q", got)
		}
		failed := 0
		for _, n := range notes {
			if n == "alpha failed" {
				failed++
			}
		}
		if failed != 1 {
			t.Errorf("notifications %q, want one give-up", notes)
		}
		test.Tap(c.start)
	})
	r.until("running again after the reset", func() bool {
		return (c.st.State == supervisor.Ready || c.st.State == supervisor.Starting) && c.st.Restarts == 0 && c.st.LastError == ""
	})
}
