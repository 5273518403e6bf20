package ui

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"outrigger/core/modes"
)

// A mode switch chosen in the window: the controller publishes ModeChanged,
// then remembers the mode (Persist: main's writes outrigger.toml), and only
// then finishes the transition. So the UI applies ModeChanged while the
// switcher still counts the transition as its own (busy), and the
// transition's completion after it. Once both are applied the tray's Mode
// item no longer says "(switching…)" with every mode disabled. Before, the
// completion refreshed only the window, and the tray stayed so until the
// next state or mode event.
func TestTrayModeItemAfterSwitch(t *testing.T) {
	release := make(chan struct{})
	persist := func(modes.Mode) error {
		select {
		case <-release:
		case <-time.After(wait):
		}
		return nil
	}
	r := newRig(t, &rigOpts{tray: true, modes: true, persist: persist}, fixtureSpec(t, "alpha"))
	m := r.ui.modeSw
	r.until("standalone shown", func() bool { return m.mode.Kind == modes.Standalone })

	onUI(func() { test.Tap(m.buttons[modes.Service]) })
	// ModeChanged is applied while the controller is saving the mode.
	r.until("ModeChanged to Service applied", func() bool { return m.mode.Kind == modes.Service && !m.moving })
	close(release)
	r.until("the transition's completion applied", func() bool { return !m.busy() })

	modeItem := func() *fyne.MenuItem {
		for _, it := range r.ui.tray.menu.Items {
			if strings.HasPrefix(it.Label, "Mode:") {
				return it
			}
		}
		return nil
	}
	onUI(func() {
		if m.buttons[modes.Standalone].Disabled() {
			t.Error("the window's mode buttons are still disabled")
		}
		mode := modeItem()
		if mode == nil {
			t.Fatal("no Mode item in the tray menu")
		}
		if strings.Contains(mode.Label, "switching") {
			t.Errorf("tray says %q after the switch ended (the window's buttons are enabled)", mode.Label)
		}
		for _, it := range mode.ChildMenu.Items {
			if it.Disabled {
				t.Errorf("tray mode item %q disabled after the switch ended", it.Label)
			}
		}
	})
}
