package ui

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
)

// UI work runs until the app loop ends (or our quit path ends it), and is
// dropped after.
func TestGuardAfterLoopEnd(t *testing.T) {
	test.NewTempApp(t)
	u := New(fyne.CurrentApp(), Deps{})
	ran := 0
	u.guard(func() { ran++ })()
	u.loopOver.Store(true)
	u.guard(func() { ran++ })()
	if ran != 1 {
		t.Errorf("UI work ran %d times, want once: before the loop ended only", ran)
	}
}
