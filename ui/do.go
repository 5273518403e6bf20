package ui

import (
	"outrigger/ui/localefix"
	"outrigger/ui/uithread"
)

// Fyne's packages have read the locale by now (see localefix).
func init() { localefix.Restore() }

// do hands f to the UI thread. Once the app loop has ended f is dropped:
// Fyne would run it on the calling goroutine with GLFW terminated
// (uithread drops those), and the UI goroutine itself, back in Run, sets
// loopOver before it could call do.
func (u *UI) do(f func()) {
	runOnUI(u.guard(f))
}

// guard wraps f for the UI thread (see do).
func (u *UI) guard(f func()) func() {
	return func() {
		if u.loopOver.Load() {
			return
		}
		f()
	}
}

// runOnUI hands fn to the UI thread (uithread.Do). Tests replace it to
// serialize the UI work with the test's own widget calls, since the test
// driver runs fyne.Do at once on the calling goroutine. Never call it from
// the UI thread itself.
var runOnUI = uithread.Do
