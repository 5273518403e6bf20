package eventbus

import (
	"testing"
	"time"
)

// fifo keeps everything: the simplest policy.
type fifo struct{ q []int }

func (f *fifo) Push(e int) { f.q = append(f.q, e) }
func (f *fifo) Pop() (int, bool) {
	if len(f.q) == 0 {
		return 0, false
	}
	e := f.q[0]
	f.q = f.q[1:]
	return e, true
}

// latest keeps only the newest event.
type latest struct {
	v   int
	has bool
}

func (l *latest) Push(e int) { l.v, l.has = e, true }
func (l *latest) Pop() (int, bool) {
	ok := l.has
	l.has = false
	return l.v, ok
}

func TestInitialThenPublishedInOrder(t *testing.T) {
	b := New(func() Queue[int] { return &fifo{} })
	ch, cancel := b.Subscribe([]int{1, 2})
	defer cancel()
	b.Publish(3)
	for want := 1; want <= 3; want++ {
		select {
		case got := <-ch:
			if got != want {
				t.Fatalf("got %d, want %d", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no event %d", want)
		}
	}
	b.Close()
	if _, ok := <-ch; ok {
		t.Fatal("channel open after Close")
	}
}

func TestPublishNeverBlocksOnASilentSubscriber(t *testing.T) {
	b := New(func() Queue[int] { return &latest{} })
	ch, cancel := b.Subscribe(nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 1; i <= 100000; i++ {
			b.Publish(i)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Publish blocked")
	}
	// The pump may hold one event taken early; the newest follows it.
	var last int
	for last != 100000 {
		select {
		case last = <-ch:
		case <-time.After(10 * time.Second):
			t.Fatalf("newest event never delivered (last %d)", last)
		}
	}
	cancel()
	b.Close()
}

func TestCancelEndsOnlyThatSubscription(t *testing.T) {
	b := New(func() Queue[int] { return &fifo{} })
	defer b.Close()
	a, cancelA := b.Subscribe(nil)
	c, cancelC := b.Subscribe(nil)
	defer cancelC()
	cancelA()
	for range a {
	}
	b.Publish(7)
	if got := <-c; got != 7 {
		t.Fatalf("got %d", got)
	}
}
