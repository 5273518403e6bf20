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

// Standalone chosen in the tray while sidecars run and the window is
// hidden asks first, in the window: the window comes up with the
// question. Before, the question was put on the hidden window, and the
// tray's choice seemed to do nothing.
func TestTrayStandaloneAsksInShownWindow(t *testing.T) {
	r := newRig(t, &rigOpts{tray: true, modes: true, hidden: true}, fixtureSpec(t, "alpha"))
	m := r.ui.modeSw
	r.until("standalone shown", func() bool { return m.mode.Kind == modes.Standalone })
	onUI(func() { m.choose(modes.Service) })
	r.until("service mode, alpha running", func() bool {
		return m.mode.Kind == modes.Service && !m.busy() && r.ui.anyRunning()
	})
	onUI(func() {
		if r.ui.visible {
			t.Fatal("the window is shown; the test wants it hidden in the tray")
		}
		var standalone *fyne.MenuItem
		for _, it := range r.ui.tray.menu.Items {
			if strings.HasPrefix(it.Label, "Mode:") {
				for _, c := range it.ChildMenu.Items {
					if c.Label == "Standalone" {
						standalone = c
					}
				}
			}
		}
		if standalone == nil {
			t.Fatal("no Mode › Standalone in the tray menu")
		}
		standalone.Action()
		if r.ui.win.Canvas().Overlays().Top() == nil {
			t.Fatal("no question asked")
		}
		if !r.ui.visible {
			t.Error("the question was asked in the hidden window")
		}
	})
}
