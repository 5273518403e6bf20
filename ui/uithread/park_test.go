package uithread

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// A parker driven by hand: queue hands functions to the test, which runs
// them as the loop would, on a goroutine of its own; the sleeper sleeps
// until woken.
type parkRig struct {
	t   *testing.T
	p   *parker
	q   chan func()
	s   *chanSleeper
	log *bytes.Buffer
}

type chanSleeper struct {
	woke  chan struct{}      // a wake, or the test standing in for parkMax
	slept chan time.Duration // a sleep began, at most this long
	fail  bool
}

func (s *chanSleeper) sleep(upTo time.Duration, _ func() bool) bool {
	s.slept <- upTo
	<-s.woke
	return !s.fail
}

func (s *chanSleeper) wake() {
	select {
	case s.woke <- struct{}{}:
	default:
	}
}

func newParkRig(t *testing.T) *parkRig {
	r := &parkRig{t: t, q: make(chan func(), 16), log: &bytes.Buffer{},
		s: &chanSleeper{woke: make(chan struct{}, 1), slept: make(chan time.Duration, 1)}}
	r.p = newParker(func(f func()) { r.q <- f }, func() bool { return true })
	r.p.startHold = 0
	r.p.enable(r.s, slog.New(slog.NewTextHandler(&syncWriter{w: r.log}, nil)))
	t.Cleanup(r.p.stop)
	return r
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (w *syncWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(b)
}

// queued waits for the park the parker queues.
func (r *parkRig) queued() func() {
	r.t.Helper()
	select {
	case f := <-r.q:
		return f
	case <-time.After(10 * time.Second):
		r.t.Fatal("no park was queued")
		return nil
	}
}

// nothingQueued checks that no park is queued now. The parker queues
// under its lock, before the call that decided it returns, so a park not
// in the queue now was not decided.
func (r *parkRig) nothingQueued() {
	r.t.Helper()
	select {
	case <-r.q:
		r.t.Fatal("a park was queued")
	default:
	}
}

// runAsleep runs park as the loop and waits until it sleeps; done closes
// as it returns.
func (r *parkRig) runAsleep(park func()) (done chan struct{}) {
	done, _ = r.runAsleepFor(park)
	return done
}

// runAsleepFor is runAsleep, and says how long the sleep may last.
func (r *parkRig) runAsleepFor(park func()) (done chan struct{}, upTo time.Duration) {
	r.t.Helper()
	done = make(chan struct{})
	go func() { defer close(done); park() }()
	select {
	case upTo = <-r.s.slept:
	case <-done:
		r.t.Fatal("the park returned without sleeping")
	case <-time.After(10 * time.Second):
		r.t.Fatal("the park never slept")
	}
	return done, upTo
}

func (r *parkRig) returns(done chan struct{}, why string) {
	r.t.Helper()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		r.t.Fatalf("the loop slept on after %s", why)
	}
}

// Hidden, the loop parks; a hand-over wakes it, and it parks again only
// once that work ran.
func TestParkWakesForHandOver(t *testing.T) {
	r := newParkRig(t)
	r.nothingQueued() // shown: no park
	r.p.setHidden(true)
	done := r.runAsleep(r.queued())
	r.p.handOver()
	r.returns(done, "a hand-over")
	r.nothingQueued() // the handed-over work has not run yet
	r.p.handedOver()
	r.runAsleep(r.queued())
	r.p.setHidden(false) // as Show does, on the loop: wake it first
	r.p.handOver()
}

// A park queued before a hand-over runs after it was queued: it must not
// sleep before that work ran.
func TestQueuedParkYieldsToLaterWork(t *testing.T) {
	r := newParkRig(t)
	r.p.setHidden(true)
	park := r.queued()
	r.p.handOver()
	park() // returns at once: it would sleep ahead of the work
	select {
	case <-r.s.slept:
		t.Fatal("the park slept with work handed over")
	default:
	}
	r.nothingQueued()
	r.p.handedOver()
	r.runAsleep(r.queued())
	r.p.stop()
}

// A park lasts up to parkMax; a wake with no reason left (parkMax, or one
// that raced the end of a sleep) parks again, behind what Fyne queued
// meanwhile.
func TestParkAgainAfterTimeout(t *testing.T) {
	r := newParkRig(t)
	r.p.setHidden(true)
	done, upTo := r.runAsleepFor(r.queued())
	if upTo != parkMax {
		t.Errorf("a park lasts up to %v, want %v", upTo, parkMax)
	}
	r.s.woke <- struct{}{} // parkMax passed
	r.returns(done, "parkMax")
	r.runAsleep(r.queued())
	r.p.stop()
}

// After parking is turned on, the loop stays awake for startHold while
// Fyne finishes setting up, then parks.
func TestStartHold(t *testing.T) {
	r := &parkRig{t: t, q: make(chan func(), 16), log: &bytes.Buffer{},
		s: &chanSleeper{woke: make(chan struct{}, 1), slept: make(chan time.Duration, 1)}}
	r.p = newParker(func(f func()) { r.q <- f }, func() bool { return true })
	r.p.startHold = 100 * time.Millisecond
	began := time.Now()
	r.p.enable(r.s, nil)
	t.Cleanup(r.p.stop)
	r.p.setHidden(true)
	park := r.queued() // once the hold ended
	if held := time.Since(began); held < r.p.startHold {
		t.Errorf("parked %v after parking was turned on; the hold is %v", held, r.p.startHold)
	}
	r.runAsleep(park)
}

// The quit path wakes a parked loop, and nothing parks it again.
func TestStopWakesAndEndsParking(t *testing.T) {
	r := newParkRig(t)
	r.p.setHidden(true)
	done := r.runAsleep(r.queued())
	r.p.stop()
	r.returns(done, "stop")
	r.p.setHidden(true)
	r.p.handOver()
	r.p.handedOver()
	r.p.enable(r.s, nil) // too late: stays off
	r.p.setHidden(true)
	r.nothingQueued()
}

// A display connection that fails ends parking, with a warning.
func TestFailedSleepEndsParking(t *testing.T) {
	r := newParkRig(t)
	r.s.fail = true
	r.p.setHidden(true)
	done := r.runAsleep(r.queued())
	r.s.woke <- struct{}{}
	r.returns(done, "a failed sleep")
	r.nothingQueued()
	if !strings.Contains(r.log.String(), "display connection failed") {
		t.Errorf("no warning: %q", r.log)
	}
}

// Off the loop's goroutine (Fyne runs queued work on the caller once its
// loop ended) a park never sleeps.
func TestParkOffTheLoopDoesNothing(t *testing.T) {
	r := newParkRig(t)
	r.p.onUI = func() bool { return false }
	r.p.setHidden(true)
	r.queued()()
	select {
	case <-r.s.slept:
		t.Fatal("slept off the loop")
	default:
	}
}
