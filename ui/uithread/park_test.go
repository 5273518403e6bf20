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
	t      *testing.T
	p      *parker
	q      chan func()
	s      *chanSleeper
	opened chan struct{}
	log    *bytes.Buffer
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
	r := &parkRig{t: t, q: make(chan func(), 16), opened: make(chan struct{}), log: &bytes.Buffer{},
		s: &chanSleeper{woke: make(chan struct{}, 1), slept: make(chan time.Duration, 1)}}
	r.p = newParker(func(f func()) { r.q <- f }, func() bool { return true })
	r.p.startHold, r.p.menuHold = 0, 50*time.Millisecond
	r.p.enable(r.s, r.opened, slog.New(slog.NewTextHandler(&syncWriter{w: r.log}, nil)))
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

// A wake with no reason left (parkMax, or one that raced the end of a
// sleep) parks again, behind what Fyne queued meanwhile.
func TestParkAgainAfterTimeout(t *testing.T) {
	r := newParkRig(t)
	r.p.setHidden(true)
	done := r.runAsleep(r.queued())
	r.s.woke <- struct{}{} // parkMax passed
	r.returns(done, "parkMax")
	r.runAsleep(r.queued())
	r.p.stop()
}

// The tray's menu opening wakes the loop and keeps it awake for the
// hold, so a click is taken at once; then it parks again. A host that
// says so keeps parking on when a click comes.
func TestMenuOpenedHoldsTheLoopAwake(t *testing.T) {
	r := newParkRig(t)
	r.p.setHidden(true)
	done, upTo := r.runAsleepFor(r.queued())
	if upTo != parkMax {
		t.Errorf("before the host said its menu opened, a park lasts up to %v, want %v", upTo, parkMax)
	}
	opened := time.Now()
	r.opened <- struct{}{}
	r.returns(done, "the menu opened")
	r.p.trayClicked()
	park := r.queued() // after the hold
	if held := time.Since(opened); held < r.p.menuHold {
		t.Errorf("parked again %v after the menu opened; the hold is %v", held, r.p.menuHold)
	}
	if _, upTo := r.runAsleepFor(park); upTo != parkMaxAnnounced {
		t.Errorf("once the host said its menu opened, a park lasts up to %v, want %v", upTo, parkMaxAnnounced)
	}
	if strings.Contains(r.log.String(), "does not say") {
		t.Errorf("parking turned off for a host that said its menu opened: %s", r.log)
	}
	r.p.stop()
}

// A click from a host that never said its menu opened waited for a wake:
// parking turns off for good, and says why.
func TestClickWithoutMenuNoticeStopsParking(t *testing.T) {
	r := newParkRig(t)
	r.p.setHidden(true)
	done := r.runAsleep(r.queued())
	r.s.woke <- struct{}{} // the click ran at the next wake
	r.returns(done, "parkMax")
	park := r.queued()
	r.p.trayClicked()
	park() // does not sleep
	r.p.setHidden(false)
	r.p.setHidden(true)
	r.nothingQueued()
	if !strings.Contains(r.log.String(), "does not say when its menu opens") {
		t.Errorf("no word on why parking stopped: %q", r.log)
	}
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
	r.p.enable(r.s, r.opened, nil) // too late: stays off
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
