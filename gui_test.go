//go:build !nogui

package main

import (
	"testing"

	fyneapp "fyne.io/fyne/v2/app"
)

// Fyne's own "stopped" hook is gone, so its loop queues nothing as it ends
// (see dropStoppedHook), and we never set one either.
func TestStoppedHookDropped(t *testing.T) {
	a := fyneapp.NewWithID("io.outrigger.test")
	l, ok := a.Lifecycle().(interface{ OnStopped() func() })
	if !ok {
		t.Fatal("Fyne's lifecycle has no OnStopped: check dropStoppedHook against this Fyne release")
	}
	if l.OnStopped() == nil {
		t.Fatal("Fyne set no stopped hook of its own: dropStoppedHook may be needless with this Fyne release; check its loop's quit")
	}
	dropStoppedHook(a)
	if l.OnStopped() != nil {
		t.Error("a stopped hook is left: Fyne 2.7.1's loop would queue it as it ends and may hang the quit")
	}
}
