// Package eventbus fans events out to subscribers without ever blocking
// the publisher. Each subscriber has its own queue, drained into its
// channel by a pump goroutine that the bus owns and ends. What a subscriber
// that falls behind keeps — the newest state per sidecar, or every critical
// event and fewer progress reports — is the Queue's business, so each user
// of the bus states its own rule and shares the mechanism.
package eventbus

import "sync"

// Queue holds one subscriber's pending events. The bus serialises calls.
type Queue[E any] interface {
	Push(e E)            // add an event, coalescing or shedding as the policy says
	Pop() (e E, ok bool) // take the next event to deliver
}

// Bus delivers published events to every subscriber.
type Bus[E any] struct {
	newQueue func() Queue[E]
	mu       sync.Mutex
	subs     map[*sub[E]]struct{}
	closed   bool
	wg       sync.WaitGroup // one pump per subscriber
}

type sub[E any] struct {
	mu   sync.Mutex
	q    Queue[E]
	wake chan struct{}
	done chan struct{}
	out  chan E
	once sync.Once
}

// New makes a bus whose subscribers each get a queue from newQueue.
func New[E any](newQueue func() Queue[E]) *Bus[E] {
	return &Bus[E]{newQueue: newQueue, subs: map[*sub[E]]struct{}{}}
}

// Subscribe returns a channel that first yields initial, then every
// published event (as the queue keeps them), and a function that ends the
// subscription. The channel closes when the subscription or the bus ends.
func (b *Bus[E]) Subscribe(initial []E) (<-chan E, func()) {
	return b.SubscribeFunc(func() []E { return initial })
}

// SubscribeFunc is Subscribe with initial computed under the lock Publish
// takes, as the subscriber is registered: an event published before is
// reflected in what initial returns (a snapshot of the state it changed),
// every later one is queued after it. A snapshot taken before registering
// would miss an event published in between, and the subscriber would not
// hear of that change until the next one.
func (b *Bus[E]) SubscribeFunc(initial func() []E) (<-chan E, func()) {
	s := &sub[E]{q: b.newQueue(), wake: make(chan struct{}, 1), done: make(chan struct{}), out: make(chan E)}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		close(s.out)
		return s.out, func() {}
	}
	for _, e := range initial() {
		s.push(e)
	}
	b.subs[s] = struct{}{}
	b.wg.Add(1)
	b.mu.Unlock()
	go func() {
		defer b.wg.Done()
		s.pump()
	}()
	return s.out, func() {
		b.mu.Lock()
		delete(b.subs, s)
		b.mu.Unlock()
		s.stop()
	}
}

// Publish queues e for every subscriber; it never waits for one.
func (b *Bus[E]) Publish(e E) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		s.push(e)
	}
}

// Close ends every subscription and waits for the pumps to finish.
func (b *Bus[E]) Close() {
	b.mu.Lock()
	b.closed = true
	subs := b.subs
	b.subs = map[*sub[E]]struct{}{}
	b.mu.Unlock()
	for s := range subs {
		s.stop()
	}
	b.wg.Wait()
}

func (s *sub[E]) stop() { s.once.Do(func() { close(s.done) }) }

func (s *sub[E]) push(e E) {
	s.mu.Lock()
	s.q.Push(e)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *sub[E]) pop() (E, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.q.Pop()
}

func (s *sub[E]) pump() {
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
