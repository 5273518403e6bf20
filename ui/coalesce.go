package ui

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
)

// coalescer turns any number of kicks from any goroutines into at most one
// run of flush on the UI thread per frame. flush drains whatever state the
// kickers left (under its own lock) so no final state is ever lost: a kick
// that arrives while flush runs schedules one more run.
type coalescer struct {
	frame time.Duration
	flush func() // runs inside fyne.Do

	mu        sync.Mutex
	scheduled bool
	last      time.Time
	stopped   bool
}

func newCoalescer(frame time.Duration, flush func()) *coalescer {
	return &coalescer{frame: frame, flush: flush}
}

// kick asks for a flush; it never blocks and never queues more than one.
func (c *coalescer) kick() {
	c.mu.Lock()
	if c.scheduled || c.stopped {
		c.mu.Unlock()
		return
	}
	c.scheduled = true
	wait := c.frame - time.Since(c.last)
	c.mu.Unlock()
	if wait <= 0 {
		runOnUI(c.run)
		return
	}
	time.AfterFunc(wait, func() { runOnUI(c.run) })
}

// run is the UI-thread side.
func (c *coalescer) run() {
	c.mu.Lock()
	c.scheduled = false
	c.last = time.Now()
	stopped := c.stopped
	c.mu.Unlock()
	if !stopped {
		c.flush()
	}
}

// stop makes later kicks do nothing.
func (c *coalescer) stop() {
	c.mu.Lock()
	c.stopped = true
	c.mu.Unlock()
}

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
