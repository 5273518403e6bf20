package logs

import (
	"errors"
	"sync"
	"time"
)

// paceEvery is how often a paced Capture reads (SidecarLog.Pace): a Ready
// sidecar's lines are gathered by its pipe for up to this long and read
// together. Every wake of the app costs far more than the line it reads
// (threads woken, the poller re-armed): 50 sidecars printing 20 lines a
// second were a thousand wakes a second read one line at a time, and are
// ten, for all of them, paced. Lines reach the ring and the window (and get
// their time) up to paceEvery late; a flood is not slowed (a read that
// fills the buffer is followed by the next at once), and the pipe holds
// 64 KiB, so a sidecar writing less than 640 KB/s never waits for us.
const paceEvery = 100 * time.Millisecond

// paceClock ticks for every paced Capture of the app at once, on multiples
// of paceEvery; its timer runs only while a Capture waits for it.
var paceClock clock

type clock struct {
	mu sync.Mutex
	ch chan struct{} // closed at the next tick; nil while nobody waits
}

// next returns a channel closed at the next tick.
func (c *clock) next() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ch == nil {
		ch := make(chan struct{})
		c.ch = ch
		now := time.Now()
		time.AfterFunc(now.Truncate(paceEvery).Add(paceEvery).Sub(now), func() {
			c.mu.Lock()
			c.ch = nil
			c.mu.Unlock()
			close(ch)
		})
	}
	return c.ch
}

// errWouldBlock is a pipeReader's answer when the pipe is empty: the
// Capture gives its buffer back and waits (waitReadable) without one.
var errWouldBlock = errors.New("logs: pipe empty")

// readWaiter is a reader that can say "empty" instead of blocking, and wait
// for data without holding a buffer (a pipe in the runtime's poller).
type readWaiter interface {
	waitReadable() error
}

// bufPool holds the capture buffers of streams that are waiting for data:
// a sidecar's idle streams hold none.
var bufPool = sync.Pool{New: func() any { b := make([]byte, minBuf); return &b }}

// Pace makes the Captures of this log read at most every paceEvery (on) or
// as soon as data arrives (off, the default). The supervisor paces a Ready
// sidecar and stops pacing when its process has exited, so the end of the
// output (and so the exit) is seen at once; while a sidecar starts, its
// lines are read at once, since they prompt readiness probes.
func (s *SidecarLog) Pace(on bool) {
	s.paceMu.Lock()
	defer s.paceMu.Unlock()
	switch {
	case on && s.hurry == nil:
		s.hurry = make(chan struct{})
	case !on && s.hurry != nil:
		close(s.hurry) // a Capture waiting for the tick reads now
		s.hurry = nil
	}
}

// pause waits for the next tick while paced.
func (s *SidecarLog) pause() {
	s.paceMu.Lock()
	h := s.hurry
	s.paceMu.Unlock()
	if h == nil {
		return
	}
	select {
	case <-paceClock.next():
	case <-h:
	}
}
