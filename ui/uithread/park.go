package uithread

import (
	"log/slog"
	"sync"
	"time"
)

// Parking: while the window is hidden in the tray, the app loop sleeps.
//
// Fyne 2.7's glfw driver runs its loop at 60 Hz whether a window is shown
// or not: each tick polls the X connection and walks the windows. Hidden
// in the tray for a day, that is 60 wake-ups a second for nothing (1.6 to
// 4.6 % of a core on our 2-core test machine; a laptop's battery pays it
// too). Fyne has no switch for it, so while the window is hidden the loop
// is parked: park, queued on the loop like any hand-over, blocks it in
// poll(2) on the X connection and a wake pipe (park_x11.go), and no tick
// runs. X events that arrive meanwhile are read on the loop's own thread,
// as the loop would read them, without waking it.
//
// The loop wakes when:
//   - our own work is handed over: Do wakes it first and parks it again
//     once that work ran. That is how everything that needs the loop
//     while hidden reaches it: the tray's icon and menu following the
//     sidecars, a click in the tray's menu (ui's tray hands its clicks to
//     Do rather than letting Fyne run them on the sleeping loop), a tap
//     on the tray's icon, the quit path;
//   - the window is shown;
//   - a while has passed (parkMax): what Fyne itself queued meanwhile (a
//     theme change) runs then, and the loop parks again.
//
// Parking works where the tray is D-Bus (Linux) and the window X11; on
// Windows and macOS the tray's own events run on the loop's thread, so
// the loop must keep running there, and canPark is false.

const (
	// parkMax bounds a park: work Fyne queued on its own while the loop
	// slept (nothing a person waits for: the window is hidden) waits at
	// most this long. A wake costs about 4 ms of CPU on our test machine
	// (the loop's tick and the Go runtime's spin after it).
	parkMax = 5 * time.Minute
	// startHold keeps the loop awake after parking is turned on, while
	// Fyne finishes setting up (work it queues on the loop).
	startHold = 3 * time.Second
)

// sleeper blocks the loop's goroutine for a park.
type sleeper interface {
	// sleep returns after at most upTo, when wake is called, or once
	// stay reports false (checked after each batch of window events it
	// handles). It reports false when the loop must not park again (its
	// display connection failed).
	sleep(upTo time.Duration, stay func() bool) bool
	// wake ends the current sleep, or the next one if none runs yet.
	wake()
}

// parker decides when the app loop parks. Its methods are safe from any
// goroutine unless they say otherwise.
type parker struct {
	queue func(func()) // hands a function to the loop (fyne.Do)
	onUI  func() bool  // the caller runs on the loop's goroutine
	now   func() time.Time
	// How long the loop stays awake after enable (startHold; tests
	// shorten it).
	startHold time.Duration

	mu        sync.Mutex
	s         sleeper
	log       *slog.Logger
	on        bool      // parking allowed: a tray, a sleeper, not quitting
	stopped   bool      // stop was called: parking stays off
	hidden    bool      // the window is hidden in the tray
	queued    bool      // a park is queued on the loop
	asleep    bool      // the loop is in a park
	work      int       // hand-overs queued and not yet run (Do)
	awakeTill time.Time // the start keeps the loop awake until then
	hold      *time.Timer
}

func newParker(queue func(func()), onUI func() bool) *parker {
	return &parker{queue: queue, onUI: onUI, now: time.Now, startHold: startHold}
}

// enable turns parking on with the sleeper s. Once only; nothing after
// stop.
func (p *parker) enable(s sleeper, log *slog.Logger) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.on || p.stopped || s == nil {
		return
	}
	if log == nil {
		log = slog.Default()
	}
	p.s, p.log, p.on = s, log, true
	p.awakeTill = p.now().Add(p.startHold)
	p.hold = time.AfterFunc(p.startHold, p.held)
}

// setHidden says whether the window is hidden in the tray. Loop only.
func (p *parker) setHidden(h bool) {
	p.update(func() { p.hidden = h })
}

// stop turns parking off for good (the quit path): a parked loop wakes.
func (p *parker) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopped = true
	p.offLocked()
}

func (p *parker) offLocked() {
	p.on = false
	if p.hold != nil {
		p.hold.Stop()
	}
	if p.asleep {
		p.s.wake()
	}
}

// handOver is called before a function is queued on the loop, handedOver
// once it ran there (or was dropped): the loop must not sleep in between.
func (p *parker) handOver() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.work++
	if p.asleep {
		p.s.wake()
	}
}

func (p *parker) handedOver() {
	p.update(func() { p.work-- })
}

func (p *parker) held() { p.update(func() {}) }

// mayParkLocked reports whether the loop may sleep now.
func (p *parker) mayParkLocked() bool {
	return p.on && p.hidden && p.work == 0 && !p.now().Before(p.awakeTill)
}

// update runs f under the lock, then queues a park when the loop may
// sleep and none is queued; a park queued behind other work runs after
// it. It queues outside the lock: once the loop ended, Fyne runs queued
// work at once on the caller.
func (p *parker) update(f func()) {
	p.mu.Lock()
	f()
	due := !p.queued && !p.asleep && p.mayParkLocked()
	if due {
		p.queued = true
	}
	p.mu.Unlock()
	if due {
		p.queue(p.park)
	}
}

// park runs on the loop: it sleeps there until something needs the loop.
func (p *parker) park() {
	if !p.onUI() {
		// After the loop ended Fyne runs queued work on the caller.
		return
	}
	p.mu.Lock()
	p.queued = false
	if !p.mayParkLocked() {
		p.mu.Unlock()
		return
	}
	p.asleep = true
	s, upTo := p.s, parkMax
	p.mu.Unlock()

	ok := s.sleep(upTo, func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.mayParkLocked()
	})

	// Whoever woke the loop parks it again (Do once its work ran); a
	// wake with no reason left (parkMax, or a wake that raced the end of
	// the sleep) parks it again behind whatever Fyne queued meanwhile.
	p.update(func() {
		p.asleep = false
		if !ok {
			p.log.Warn("the app loop cannot sleep while the window is hidden: its display connection failed")
			p.offLocked()
		}
	})
}
