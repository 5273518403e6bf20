package ui

import (
	"errors"

	"fyne.io/fyne/v2"
	"github.com/go-gl/glfw/v3.3/glfw"

	"outrigger/ui/localefix"
)

// Fyne's packages have read the locale by now (see localefix).
func init() { localefix.Restore() }

// do hands f to the UI thread, unless the app loop has ended: after that
// Fyne runs such functions at once on the calling goroutine with GLFW
// terminated (Fyne's own SIGINT/SIGTERM handler ends the loop before our
// quit path does), so they are dropped; one caught in that window panics
// with GLFW's "not initialized" error, which ends the UI work for good.
func (u *UI) do(f func()) {
	runOnUI(u.guard(f))
}

// glfwNotInitialized is GLFW_NOT_INITIALIZED (glfw3.h), which go-gl/glfw
// does not export.
const glfwNotInitialized glfw.ErrorCode = 0x00010001

// guard wraps f for the UI thread (see do).
func (u *UI) guard(f func()) func() {
	return func() {
		if u.loopOver.Load() {
			return
		}
		defer func() {
			if r := recover(); r != nil {
				var ge *glfw.Error
				if err, ok := r.(error); ok && errors.As(err, &ge) && ge.Code == glfwNotInitialized {
					u.loopOver.Store(true)
					u.log.Debug("UI work after the app loop ended was dropped", "err", err)
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
