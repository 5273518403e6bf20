package modes

import (
	"time"

	"outrigger/core/eventbus"
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

func newHub() *eventbus.Bus[Event] {
	return eventbus.New(func() eventbus.Queue[Event] { return &shedding{} })
}

// shedding is the modes' queue policy: consecutive Progress events
// coalesce, and a backlog sheds Progress, then reachability, never a
// critical event.
type shedding struct{ q []Event }

func (s *shedding) Push(e Event) {
	if n := len(s.q); e.Kind == Progress && n > 0 && s.q[n-1].Kind == Progress {
		s.q[n-1] = e // only the newest progress matters
	} else {
		s.q = append(s.q, e)
	}
	if len(s.q) > softLimit {
		s.q = shed(s.q)
	}
}

func (s *shedding) Pop() (Event, bool) {
	if len(s.q) == 0 {
		return Event{}, false
	}
	e := s.q[0]
	s.q[0] = Event{}
	s.q = s.q[1:]
	return e, true
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
