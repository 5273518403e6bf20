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
//     once that work ran (the tray's icon and menu follow the sidecars);
//   - the window is shown;
//   - the tray's menu is opened (the host says so over D-Bus): Fyne runs
//     a menu item's action on the loop, so it stays awake for menuHold;
//   - a while has passed (parkMax): what Fyne itself queued meanwhile (a
//     click on a host that does not announce its menu, a theme change)
//     runs then, and the loop parks again. Our own SIGTERM handler wakes
//     the loop at once through the quit path.
//
// A tray host that never announces its menu would see a click wait up to
// parkMax; the first such click turns parking off (TrayClicked). Until
// the host has announced its menu once, parkMax is short (a click waits
// at most that, once); after, it is long, and the loop wakes for nothing
// a few times an hour.
//
// Parking works where the tray is D-Bus (Linux) and the window X11; on
// Windows and macOS the tray's own events run on the loop's thread, so
// the loop must keep running there, and canPark is false.

const (
	// parkMax bounds a park: work Fyne queued while the loop slept waits
	// at most this long. A wake costs about 4 ms of CPU on our test
	// machine (the loop's tick and the Go runtime's spin after it), so
	// every 10 s it is 0.04 % of a core.
	parkMax = 10 * time.Second
	// parkMaxAnnounced is parkMax once the tray host has said its menu
	// opened: clicks then wake the loop, and only Fyne's rare own work
	// (a theme change) waits.
	parkMaxAnnounced = 5 * time.Minute
	// menuHold is how long the loop stays awake after the tray's menu
	// opened: a person reads it and clicks.
	menuHold = 30 * time.Second
	// startHold keeps the loop awake after the tray is turned on, while
	// Fyne puts the menu in place (its tray's ready callback queues that
	// on the loop).
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
	// How long the loop stays awake after enable and after the tray's
	// menu opened (startHold, menuHold; tests shorten them).
	startHold, menuHold time.Duration

	mu        sync.Mutex
	s         sleeper
	log       *slog.Logger
	on        bool      // parking allowed: a tray, a sleeper, not quitting
	hidden    bool      // the window is hidden in the tray
	queued    bool      // a park is queued on the loop
	asleep    bool      // the loop is in a park
	work      int       // hand-overs queued and not yet run (Do)
	awakeTill time.Time // the tray's menu or the start keeps the loop awake until then
	announced bool      // the tray host said its menu opened, at least once
	hold      *time.Timer
	done      chan struct{} // closed by stop: ends the menu listener
}

func newParker(queue func(func()), onUI func() bool) *parker {
	return &parker{queue: queue, onUI: onUI, now: time.Now, startHold: startHold, menuHold: menuHold}
}

// enable turns parking on with the sleeper s; opened delivers the tray
// host's "menu opened" notices until stop. Once only; nothing after stop.
func (p *parker) enable(s sleeper, opened <-chan struct{}, log *slog.Logger) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.on || p.done != nil || s == nil {
		return
	}
	if log == nil {
		log = slog.Default()
	}
	p.s, p.log, p.on = s, log, true
	p.done = make(chan struct{})
	p.holdLocked(p.startHold)
	done := p.done
	go func() { // ends with stop
		for {
			select {
			case <-opened:
				p.menuOpened()
			case <-done:
				return
			}
		}
	}()
}

// setHidden says whether the window is hidden in the tray. Loop only.
func (p *parker) setHidden(h bool) {
	p.update(func() { p.hidden = h })
}

// stop turns parking off for good (the quit path): a parked loop wakes.
func (p *parker) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.offLocked()
	if p.done == nil {
		p.done = make(chan struct{}) // enable after stop does nothing
	}
	select {
	case <-p.done:
	default:
		close(p.done)
	}
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

// menuOpened keeps the loop awake while the tray's menu may be in use.
func (p *parker) menuOpened() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.announced = true
	if p.on {
		p.holdLocked(p.menuHold)
		if p.asleep {
			p.s.wake()
		}
	}
}

// trayClicked is called on the loop as a tray menu item's action begins.
// A click while the window is hidden, from a host that never said its
// menu opened, waited for the loop's next wake: such a host gets no
// parking, so no other click waits.
func (p *parker) trayClicked() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.on || !p.hidden || p.announced {
		return
	}
	p.offLocked()
	p.log.Info("the tray host does not say when its menu opens: the app loop keeps running while the window is hidden")
}

// holdLocked keeps the loop awake for d, then lets it park.
func (p *parker) holdLocked(d time.Duration) {
	till := p.now().Add(d)
	if till.After(p.awakeTill) {
		p.awakeTill = till
	}
	if p.hold == nil {
		p.hold = time.AfterFunc(d, p.held)
	} else {
		p.hold.Reset(p.awakeTill.Sub(p.now()))
	}
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
	if p.announced {
		upTo = parkMaxAnnounced
	}
	p.mu.Unlock()

	ok := s.sleep(upTo, func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.mayParkLocked()
	})

	// Whoever woke the loop parks it again (Do once its work ran, the
	// menu's hold as it ends); a wake with no reason left (parkMax, or a
	// wake that raced the end of the sleep) parks it again behind
	// whatever Fyne queued meanwhile.
	p.update(func() {
		p.asleep = false
		if !ok {
			p.log.Warn("the app loop cannot sleep while the window is hidden: its display connection failed")
			p.offLocked()
		}
	})
}
