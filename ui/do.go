package ui

import (
	"fmt"
	"strings"

	"fyne.io/fyne/v2"

	"outrigger/ui/localefix"
)

// Fyne's packages have read the locale by now (see localefix).
func init() { localefix.Restore() }

// do hands f to the UI thread, unless the app loop has ended: after that
// Fyne runs such functions at once on the calling goroutine with GLFW
// terminated (Fyne's own SIGINT/SIGTERM handler ends the loop before our
// quit path does), so they are dropped, and a GLFW "not initialized"
// panic from a function caught in that window is absorbed.
func (u *UI) do(f func()) {
	runOnUI(u.guard(f))
}

// guard wraps f for the UI thread (see do).
func (u *UI) guard(f func()) func() {
	return func() {
		if u.loopOver.Load() {
			return
		}
		defer func() {
			if r := recover(); r != nil {
				if s := fmt.Sprint(r); strings.Contains(s, "GLFW") && strings.Contains(s, "not initialized") {
					u.loopOver.Store(true)
					u.log.Debug("UI work after the app loop ended was dropped", "panic", s)
					return
				}
				panic(r)
			}
		}()
		f()
	}
}

// runOnUI hands fn to the UI thread (fyne.Do). Tests replace it to
// serialize the UI work with the test's own widget calls, since the test
// driver runs fyne.Do at once on the calling goroutine. Never call it from
// the UI thread itself.
var runOnUI = fyne.Do
