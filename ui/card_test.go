package ui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2"
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

// A crash whose last stderr line is long (a traceback on one line) shows
// the start of it in the card, which keeps a card's size; Copy details
// copies it whole. Before, the whole 8 KiB line wrapped in the card, some
// 1,500 px high, several screens for one card.
func TestCardCrashTailLongLine(t *testing.T) {
	long := strings.Repeat("Traceback frame value=0123456789 ", 240)
	r := newRig(t, nil, fixtureSpec(t, "alpha", "-crash-after", "300ms", "-stderr-line", long))
	c := r.ui.cards["alpha"]
	onUI(func() { test.Tap(c.start) })
	r.until("the crash details", func() bool { return c.copyDet.Visible() })
	onUI(func() {
		r.ui.win.Resize(fyne.NewSize(961, 600))
		r.ui.win.Resize(fyne.NewSize(960, 600))
		if h := c.root.Size().Height; h > 400 {
			t.Errorf("the card is %v px high in a 600 px window", h)
		}
		if !strings.Contains(c.tail.Text, "Traceback frame") {
			t.Errorf("the crash details do not show the line: %q", c.tail.Text)
		}
		test.Tap(c.copyDet)
		if got := r.app.Clipboard().Content(); !strings.Contains(got, long) {
			t.Errorf("Copy details lost the whole line (%d bytes copied)", len(got))
		}
	})
}
