package ui

import (
	"testing"

	"fyne.io/fyne/v2/test"

	"outrigger/core/supervisor"
)

// Tapping Start, Restart and Stop drives the real supervisor, and the card
// follows with the state, pid and buttons.
func TestCardDrivesSupervisor(t *testing.T) {
	r := newRig(t, nil, fixtureSpec(t, "alpha"))
	r.cardState("alpha", supervisor.Stopped)
	c := r.ui.cards["alpha"]
	onUI(func() {
		if c.start.Disabled() || !c.stop.Disabled() || !c.restart.Disabled() {
			t.Errorf("stopped: start/stop/restart disabled = %v/%v/%v", c.start.Disabled(), c.stop.Disabled(), c.restart.Disabled())
		}
		test.Tap(c.start)
	})
	r.cardState("alpha", supervisor.Ready)
	// The buttons wait for the answer to our Start (busy), which can come
	// a little after the Ready event.
	r.until("the ready card's buttons to wait for no command", func() bool { return !c.busy })
	var pid int
	onUI(func() {
		pid = c.st.PID
		if pid == 0 || c.pid.Text == "—" {
			t.Errorf("ready card shows no pid: %q", c.pid.Text)
		}
		if !c.start.Disabled() || c.stop.Disabled() || c.restart.Disabled() {
			t.Errorf("ready: start/stop/restart disabled = %v/%v/%v", c.start.Disabled(), c.stop.Disabled(), c.restart.Disabled())
		}
		test.Tap(c.restart)
	})
	r.until("a new pid after Restart", func() bool {
		return c.st.State == supervisor.Ready && c.st.PID != 0 && c.st.PID != pid
	})
	// A tap on Stop while the Restart's answer is still on its way would
	// hit a disabled button and do nothing.
	r.until("Stop to be enabled after the restart", func() bool { return !c.stop.Disabled() })
	onUI(func() { test.Tap(c.stop) })
	r.cardState("alpha", supervisor.Stopped)
}
