package supervisor

import "outrigger/core/eventbus"

// A slow subscriber does not get a backlog: per sidecar it keeps only the
// newest state event, plus the notable events (restarting, gave up, ...)
// that must not be lost, bounded.
const maxPendingPerSidecar = 32

func newBus() *eventbus.Bus[Event] {
	return eventbus.New(func() eventbus.Queue[Event] { return &latestPerSidecar{pending: map[string][]Event{}} })
}

// latestPerSidecar is the supervisor's queue policy.
type latestPerSidecar struct {
	pending map[string][]Event
	order   []string // sidecars with pending events, oldest first
}

func (q *latestPerSidecar) Push(e Event) {
	p := q.pending[e.Sidecar]
	if len(p) == 0 {
		// Invariant: a name is in order exactly when it has pending events.
		q.order = append(q.order, e.Sidecar)
	}
	switch {
	case !e.Kind.notable() && len(p) > 0 && !p[len(p)-1].Kind.notable():
		// Coalesce: only the newest status matters. A metrics sample does
		// not demote a pending state change to "metrics": subscribers that
		// act on EventState only would never hear of the change.
		if p[len(p)-1].Kind == EventState {
			e.Kind = EventState
		}
		p[len(p)-1] = e
	default:
		p = append(p, e)
		if len(p) > maxPendingPerSidecar {
			p = dropOldest(p)
		}
	}
	q.pending[e.Sidecar] = p
}

// dropOldest removes the oldest state event, or the oldest event when all
// are notable, keeping the queue bounded.
func dropOldest(q []Event) []Event {
	for i, e := range q {
		if !e.Kind.notable() {
			return append(q[:i], q[i+1:]...)
		}
	}
	return q[1:]
}

// Pop takes the oldest pending event, round-robin across sidecars.
func (q *latestPerSidecar) Pop() (Event, bool) {
	for len(q.order) > 0 {
		name := q.order[0]
		q.order = q.order[1:]
		p := q.pending[name]
		if len(p) == 0 {
			delete(q.pending, name)
			continue
		}
		e := p[0]
		if len(p) == 1 {
			delete(q.pending, name)
		} else {
			q.pending[name] = p[1:]
			q.order = append(q.order, name)
		}
		return e, true
	}
	return Event{}, false
}
