package modes

import (
	"sync"
	"time"
)

// EventKind tells what happened to the mode.
type EventKind string

const (
	ModeChanged      EventKind = "modeChanged"      // Mode is the new mode (also the first event of every subscription); Err may carry a warning (a sidecar that did not stop)
	Transitioning    EventKind = "transitioning"    // a transition began: Target, Message
	Progress         EventKind = "progress"         // Target, Message, e.g. "starting xgen-embedding", "waiting for xgen-workflow to be ready"
	TransitionFailed EventKind = "transitionFailed" // Target, Err; the previous mode stays
	Degraded         EventKind = "degraded"         // the Service-mode sidecar crashed (or failed liveness) and is being restarted: Message
	Restored         EventKind = "restored"         // it is Ready again
	FellBack         EventKind = "fellBack"         // fell back to Standalone: Message says why (the user stopped the service sidecar, it gave up, ...)
	Reachable        EventKind = "reachable"        // Connected: the gateway's /health answered OK
	Unreachable      EventKind = "unreachable"      // Connected: the gateway is down: Message and Err say why
	PersistFailed    EventKind = "persistFailed"    // the mode changed but could not be remembered: Err
)

// Event is one fact about the mode. Mode is the mode at the time of the
// event.
type Event struct {
	Kind    EventKind
	Mode    Mode
	Target  *Mode // the mode a transition is heading for (Transitioning, Progress, TransitionFailed)
	Message string
	Err     error
	Time    time.Time
}

// critical events are never dropped, whatever a subscriber's backlog.
func (k EventKind) critical() bool {
	switch k {
	case ModeChanged, FellBack, TransitionFailed, PersistFailed, Transitioning:
		return true
	}
	return false
}

// Backlog bounds of one subscriber: past softLimit pending events, the
// oldest Progress (then the oldest reachability event, which a newer one
// supersedes) is dropped; past hardLimit the oldest non-critical event is.
// Critical events are only ever delivered.
const (
	softLimit = 64
	hardLimit = 1024
)

// hub fans events out to subscribers without ever blocking the sender: each
// subscriber has its own queue and pump goroutine.
type hub struct {
	mu     sync.Mutex
	subs   map[*subscriber]struct{}
	closed bool
	wg     sync.WaitGroup
}

type subscriber struct {
	mu   sync.Mutex
	q    []Event
	wake chan struct{}
	done chan struct{}
	out  chan Event
	once sync.Once
}

func newHub() *hub { return &hub{subs: map[*subscriber]struct{}{}} }

func (h *hub) subscribe(initial []Event) (<-chan Event, func()) {
	s := &subscriber{wake: make(chan struct{}, 1), done: make(chan struct{}), out: make(chan Event)}
	for _, e := range initial {
		s.push(e)
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		close(s.out)
		return s.out, func() {}
	}
	h.subs[s] = struct{}{}
	h.wg.Add(1)
	h.mu.Unlock()
	go func() {
		defer h.wg.Done()
		s.pump()
	}()
	return s.out, func() {
		h.mu.Lock()
		delete(h.subs, s)
		h.mu.Unlock()
		s.stop()
	}
}

func (h *hub) publish(e Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		s.push(e)
	}
}

// close ends every subscription (the channels close) and waits for the
// pumps.
func (h *hub) close() {
	h.mu.Lock()
	h.closed = true
	subs := h.subs
	h.subs = map[*subscriber]struct{}{}
	h.mu.Unlock()
	for s := range subs {
		s.stop()
	}
	h.wg.Wait()
}

func (s *subscriber) stop() { s.once.Do(func() { close(s.done) }) }

func (s *subscriber) push(e Event) {
	s.mu.Lock()
	if n := len(s.q); e.Kind == Progress && n > 0 && s.q[n-1].Kind == Progress {
		s.q[n-1] = e // coalesce: only the newest progress matters
	} else {
		s.q = append(s.q, e)
	}
	if len(s.q) > softLimit {
		s.q = shed(s.q)
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// shed drops one event to keep the queue bounded (see softLimit).
func shed(q []Event) []Event {
	drop := func(ok func(EventKind) bool) ([]Event, bool) {
		for i, e := range q {
			if ok(e.Kind) {
				return append(q[:i], q[i+1:]...), true
			}
		}
		return q, false
	}
	if out, ok := drop(func(k EventKind) bool { return k == Progress }); ok {
		return out
	}
	if out, ok := drop(func(k EventKind) bool { return k == Reachable || k == Unreachable }); ok {
		return out
	}
	if len(q) > hardLimit {
		out, _ := drop(func(k EventKind) bool { return !k.critical() })
		return out
	}
	return q
}

func (s *subscriber) pop() (Event, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.q) == 0 {
		return Event{}, false
	}
	e := s.q[0]
	s.q[0] = Event{}
	s.q = s.q[1:]
	return e, true
}

func (s *subscriber) pump() {
	defer close(s.out)
	for {
		e, ok := s.pop()
		if !ok {
			select {
			case <-s.wake:
				continue
			case <-s.done:
				return
			}
		}
		select {
		case s.out <- e:
		case <-s.done:
			return
		}
	}
}
