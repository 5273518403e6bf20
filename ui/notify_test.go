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

// Crash notifications are rate-limited per sidecar and overall; a give-up
// is always told.
func TestNotifierRateLimit(t *testing.T) {
	test.NewTempApp(t)
	u := New(fyne.CurrentApp(), Deps{})
	n := newNotifier(u)
	now := fixedNow
	n.now = func() time.Time { return now }
	var got []string
	n.send = func(x *fyne.Notification) { got = append(got, x.Title+" | "+x.Content) }
	crash := func(name string) {
		n.event(supervisor.Event{Sidecar: name, Kind: supervisor.EventRestarting, Reason: "exit code 1", Delay: 2 * time.Second})
	}
	crash("a")
	crash("a") // same sidecar, too soon
	now = now.Add(10 * time.Second)
	crash("b")
	crash("c")
	crash("d") // over the burst
	if len(got) != 3 {
		t.Fatalf("sent %d: %q", len(got), got)
	}
	if !strings.HasPrefix(got[0], "a crashed | Exit code 1. It is being restarted in 2s.") {
		t.Errorf("first = %q", got[0])
	}
	now = now.Add(crashEvery)
	crash("a")
	if len(got) != 4 {
		t.Errorf("a later crash was not told: %q", got)
	}
	n.event(supervisor.Event{Sidecar: "a", Kind: supervisor.EventGaveUp, Reason: "gave up after 11 consecutive failures"})
	n.event(supervisor.Event{Sidecar: "a", Kind: supervisor.EventGaveUp})
	if len(got) != 6 || !strings.HasPrefix(got[4], "a failed | Gave up after 11") || !strings.Contains(got[4], "press Start") {
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
	spec := fixtureSpec(t, "alpha", "-crash-after", "700ms")
	spec.Restart = config.DefaultRestart()
	spec.Restart.MaxRetries = 1
	spec.Restart.InitialBackoff = 50 * time.Millisecond
	r := newRig(t, &rigOpts{restarts: true}, spec)
	var notes []string
	r.ui.notes.send = func(n *fyne.Notification) { notes = append(notes, n.Title) }
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
		var crashed, failed bool
		for _, n := range notes {
			crashed = crashed || n == "alpha crashed"
			failed = failed || n == "alpha failed"
		}
		if !crashed || !failed {
			t.Errorf("notifications %q, want a crash and a give-up", notes)
		}
		test.Tap(c.start)
	})
	r.until("running again after the reset", func() bool {
		return (c.st.State == supervisor.Ready || c.st.State == supervisor.Starting) && c.st.Restarts == 0 && c.st.LastError == ""
	})
}
