package supervisor

import "sync"

// bus fans events out to subscribers without ever blocking the publisher.
// A slow subscriber does not get a backlog: per sidecar it keeps only the
// newest state event, plus the notable events (restarting, gave up, ...)
// that must not be lost, bounded.
type bus struct {
	mu     sync.Mutex
	subs   map[*subscriber]struct{}
	closed bool
	wg     sync.WaitGroup // one pump goroutine per subscriber
}

const maxPendingPerSidecar = 32

type subscriber struct {
	mu      sync.Mutex
	pending map[string][]Event
	order   []string // sidecars with pending events, oldest first
	wake    chan struct{}
	done    chan struct{}
	out     chan Event
	once    sync.Once
}

func newBus() *bus { return &bus{subs: map[*subscriber]struct{}{}} }

// subscribe registers a subscriber primed with initial events (the current
// status of every sidecar) and starts its pump.
func (b *bus) subscribe(initial []Event) (<-chan Event, func()) {
	s := &subscriber{
		pending: map[string][]Event{},
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
		out:     make(chan Event),
	}
	for _, e := range initial {
		s.push(e)
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		close(s.out)
		return s.out, func() {}
	}
	b.subs[s] = struct{}{}
	b.wg.Add(1)
	b.mu.Unlock()
	go func() {
		defer b.wg.Done()
		s.pump()
	}()
	cancel := func() {
		b.mu.Lock()
		delete(b.subs, s)
		b.mu.Unlock()
		s.stop()
	}
	return s.out, cancel
}

func (b *bus) publish(e Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		s.push(e)
	}
}

// close ends every subscription (their channels close) and waits for the
// pumps to finish.
func (b *bus) close() {
	b.mu.Lock()
	b.closed = true
	subs := b.subs
	b.subs = map[*subscriber]struct{}{}
	b.mu.Unlock()
	for s := range subs {
		s.stop()
	}
	b.wg.Wait()
}

func (s *subscriber) stop() { s.once.Do(func() { close(s.done) }) }

func (s *subscriber) push(e Event) {
	s.mu.Lock()
	q := s.pending[e.Sidecar]
	if len(q) == 0 {
		// Invariant: a name is in order exactly when it has pending events.
		s.order = append(s.order, e.Sidecar)
	}
	switch {
	case !e.Kind.notable() && len(q) > 0 && !q[len(q)-1].Kind.notable():
		q[len(q)-1] = e // coalesce: only the newest state matters
	default:
		q = append(q, e)
		if len(q) > maxPendingPerSidecar {
			q = dropOldest(q)
		}
	}
	s.pending[e.Sidecar] = q
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
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

// next takes the oldest pending event, round-robin across sidecars.
func (s *subscriber) next() (Event, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.order) > 0 {
		name := s.order[0]
		s.order = s.order[1:]
		q := s.pending[name]
		if len(q) == 0 {
			delete(s.pending, name)
			continue
		}
		e := q[0]
		if len(q) == 1 {
			delete(s.pending, name)
		} else {
			s.pending[name] = q[1:]
			s.order = append(s.order, name)
		}
		return e, true
	}
	return Event{}, false
}

func (s *subscriber) pump() {
	defer close(s.out)
	for {
		e, ok := s.next()
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
