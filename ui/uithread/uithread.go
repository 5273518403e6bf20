// Package uithread hands work to Fyne's UI goroutine, and never runs it
// anywhere else.
//
// fyne.Do queues a function for the app loop, except once the loop has
// ended: from then on Fyne (2.7's glfw driver) runs it at once on the
// calling goroutine, with GLFW terminated, and every widget call in it
// logs "Error in Fyne call thread". The loop can end at any moment, not
// only through our quit path: Fyne installs its own SIGINT/SIGTERM handler
// (in Driver.Run, with no way to opt out or to order ours before it) that
// quits the app at once. No flag set by our quit path can therefore close
// that window; the goroutine a function runs on can.
package uithread

import (
	"log/slog"
	"runtime"

	"fyne.io/fyne/v2"
)

// uiGoroutine is the goroutine Fyne runs its app loop on: the main one,
// which package initialization runs on and which Fyne's glfw driver locks
// to the main OS thread in its own init.
var uiGoroutine = goroutineID()

// Do hands f to the UI goroutine (fyne.Do); f is dropped if Fyne would run
// it anywhere else, which only happens after the app loop ended. A parked
// loop (park.go) wakes for it.
func Do(f func()) {
	loop.handOver()
	fyne.Do(func() {
		defer loop.handedOver()
		if OnUI() {
			f()
		}
	})
}

// loop parks the app loop while the window is hidden (park.go).
var loop = newParker(fyne.Do, OnUI)

// ParkWhenHidden lets the app loop sleep while the window is hidden in
// the tray, where the platform allows it (park.go). Call it once the
// tray is on; every click of the tray must reach the loop through Do.
func ParkWhenHidden(log *slog.Logger) {
	if canPark {
		loop.enable(newSleeper(), log)
	}
}

// SetHidden says whether the window is hidden in the tray. UI goroutine.
func SetHidden(hidden bool) { loop.setHidden(hidden) }

// StopParking keeps the loop awake for good (the quit path).
func StopParking() { loop.stop() }

// OnUI reports whether the caller runs on the UI goroutine.
func OnUI() bool { return goroutineID() == uiGoroutine }

// goroutineID is the calling goroutine's number, read from the first line
// of its trace ("goroutine 18 [running]:"), as Fyne's own thread check
// does: Go exposes no other way.
func goroutineID() uint64 {
	var buf [64]byte
	n := runtime.Stack(buf[:], false)
	const prefix = "goroutine "
	var id uint64
	for _, c := range buf[len(prefix):n] {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + uint64(c-'0')
	}
	return id
}
