package ui

import (
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

// runOnUI hands fn to the UI thread (fyne.Do). Tests replace it to
// serialize the UI work with the test's own widget calls, since the test
// driver runs fyne.Do at once on the calling goroutine. Never call it from
// the UI thread itself.
var runOnUI = fyne.Do
