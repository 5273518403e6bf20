package control

import (
	"sync"
	"time"
)

// LookFor is how long a status request keeps the watchdog's fast metrics
// sweep on: `outrigger status` run again (or a frontend polling) within it
// sees fresh CPU and memory; a script that asked once does not keep the
// sweep running.
const LookFor = time.Minute

// looking asks for live metrics (Deps.Watch) while API clients look at
// them: a status request holds the request for LookFor after it, a
// ?metrics=1 event stream for as long as it lasts.
type looking struct {
	watch func() (cancel func()) // nil: nothing to ask
	hold  time.Duration          // a glance's hold; 0: LookFor

	mu     sync.Mutex
	cancel func()      // the held Watch; nil when none
	until  time.Time   // when the status requests' hold ends
	timer  *time.Timer // ends the hold at until
	n      int         // streams holding it
	closed bool
}

// glance is a status request: hold the watch for LookFor.
func (l *looking) glance() {
	if l.watch == nil {
		return
	}
	hold := l.hold
	if hold <= 0 {
		hold = LookFor
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.until = time.Now().Add(hold)
	if l.timer == nil {
		l.timer = time.AfterFunc(hold, l.expire)
	} else {
		l.timer.Reset(hold)
	}
	l.holdLocked()
}

// stream holds the watch until the returned func is called.
func (l *looking) stream() (done func()) {
	if l.watch == nil {
		return func() {}
	}
	l.mu.Lock()
	l.n++
	l.holdLocked()
	l.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			l.n--
			l.releaseLocked()
			l.mu.Unlock()
		})
	}
}

func (l *looking) expire() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if time.Now().Before(l.until) { // a glance came in meanwhile; its Reset runs the timer again
		return
	}
	l.until = time.Time{}
	l.releaseLocked()
}

func (l *looking) holdLocked() {
	if l.cancel == nil && !l.closed {
		l.cancel = l.watch()
	}
}

func (l *looking) releaseLocked() {
	if l.n == 0 && l.until.IsZero() && l.cancel != nil {
		l.cancel()
		l.cancel = nil
	}
}

// close ends every hold (the server is closing).
func (l *looking) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	if l.timer != nil {
		l.timer.Stop()
	}
	if l.cancel != nil {
		l.cancel()
		l.cancel = nil
	}
}
