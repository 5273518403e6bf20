package ui

import (
	"errors"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"github.com/go-gl/glfw/v3.3/glfw"
)

// UI work caught after the app loop ended (GLFW terminated) is dropped
// and ends UI work for good; any other panic goes on.
func TestGuardAfterLoopEnd(t *testing.T) {
	test.NewTempApp(t)
	u := New(fyne.CurrentApp(), Deps{})
	u.guard(func() { panic(&glfw.Error{Code: glfwNotInitialized, Desc: "The GLFW library is not initialized"}) })()
	if !u.loopOver.Load() {
		t.Error("the loop is not marked over after GLFW's not-initialized error")
	}
	ran := false
	u.guard(func() { ran = true })()
	if ran {
		t.Error("UI work ran after the loop ended")
	}
	u.loopOver.Store(false)
	defer func() {
		if r := recover(); r == nil || !errors.Is(r.(error), errBoom) {
			t.Errorf("another panic was swallowed: %v", r)
		}
	}()
	u.guard(func() { panic(errBoom) })()
}

var errBoom = errors.New("boom")
