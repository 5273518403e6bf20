package ui

import (
	"fmt"
	"time"

	"fyne.io/fyne/v2"

	"outrigger/core/supervisor"
)

// notifier sends desktop notifications for what a user away from the
// window should know: a crash the sidecar did not recover from within
// recoverGrace (a quick restart is no news), a sidecar that gave up
// (always), and a fall-back to Standalone. Crash notifications are
// rate-limited, so a crash loop is one notification, not dozens.
type notifier struct {
	d      notifierDeps
	now    func() time.Time
	send   func(*fyne.Notification, notifyUrgency)
	after  func(time.Duration, func()) // runs f on the UI thread after d (tests fire it by hand)
	last   map[string]time.Time        // per sidecar: the last crash notification
	recent []time.Time                 // every crash notification in the last window
	crash  map[string]int              // per sidecar: the restart a pending check is about
	hidden bool
}

// notifyUrgency picks the notification's timeout and urgency.
type notifyUrgency int

const (
	notifyInfo     notifyUrgency = iota // expires after a few seconds
	notifyCritical                      // stays longer: something needs the user
)

// Crash notifications: only when not Ready again recoverGrace after the
// crash; at most one per sidecar per crashEvery, and at most crashBurst
// for all sidecars per crashEvery.
const (
	recoverGrace = 5 * time.Second
	crashEvery   = 2 * time.Minute
	crashBurst   = 3
)

// notifierDeps is what the notifier needs of the app: where to send, the
// UI thread, and the newest status of a sidecar.
type notifierDeps struct {
	app      fyne.App
	do       func(func())                                // to the UI thread
	quitting func() bool                                 // UI thread
	status   func(name string) (supervisor.Status, bool) // UI thread
}

func newNotifier(d notifierDeps) *notifier {
	n := &notifier{d: d, now: time.Now, last: map[string]time.Time{}, crash: map[string]int{}}
	n.send = func(note *fyne.Notification, urg notifyUrgency) {
		// A D-Bus call that may take a while without a notification daemon:
		// never on the UI thread.
		go sendNotification(d.app, note, urg)
	}
	n.after = func(dur time.Duration, f func()) { time.AfterFunc(dur, func() { d.do(f) }) }
	return n
}

// event looks at one notable supervisor event. UI thread.
func (n *notifier) event(e supervisor.Event) {
	switch e.Kind {
	case supervisor.EventRestarting:
		if n.d.quitting() {
			return
		}
		n.crash[e.Sidecar]++
		gen := n.crash[e.Sidecar]
		cause := firstNonEmpty(e.Status.LastError, e.Reason)
		n.after(recoverGrace, func() { n.check(e.Sidecar, gen, cause) })
	case supervisor.EventGaveUp:
		n.crash[e.Sidecar]++ // a pending crash check is superseded
		reason := firstNonEmpty(e.Reason, e.Status.LastError, "it kept crashing")
		n.send(fyne.NewNotification(e.Sidecar+" failed",
			fmt.Sprintf("%s. Outrigger stopped restarting it; press Start to try again.", capitalize(reason))), notifyCritical)
	}
}

// check runs recoverGrace after a crash: no news if the sidecar is Ready
// again (or a later crash or a give-up took over). UI thread.
func (n *notifier) check(name string, gen int, cause string) {
	if n.d.quitting() || n.crash[name] != gen {
		return
	}
	st, ok := n.d.status(name)
	if ok && (st.State == supervisor.Ready || !st.Wanted && st.State != supervisor.Backoff) {
		return // back, or stopped on purpose meanwhile
	}
	now := n.now()
	if t, ok := n.last[name]; ok && now.Sub(t) < crashEvery {
		return
	}
	keep := n.recent[:0]
	for _, t := range n.recent {
		if now.Sub(t) < crashEvery {
			keep = append(keep, t)
		}
	}
	n.recent = keep
	if len(n.recent) >= crashBurst {
		return
	}
	n.last[name] = now
	n.recent = append(n.recent, now)
	body := capitalize(firstNonEmpty(cause, "it exited")) + ". Outrigger is restarting it."
	if st.Attempt > 1 {
		body = capitalize(firstNonEmpty(cause, "it exited")) + fmt.Sprintf(". Outrigger is still trying (attempt %d).", st.Attempt)
	}
	n.send(fyne.NewNotification(name+" is not back yet", body), notifyInfo)
}

// fellBack tells that the app left Service mode. UI thread.
func (n *notifier) fellBack(reason string) {
	if n.d.quitting() {
		return
	}
	n.send(fyne.NewNotification("Switched to Standalone", capitalize(firstNonEmpty(reason, "the service is not available"))+"."), notifyCritical)
}

// hiddenOnce says, the first time only, that closing the window kept the
// app (and its sidecars) running in the tray.
func (n *notifier) hiddenOnce() {
	if n.hidden {
		return
	}
	n.hidden = true
	n.send(fyne.NewNotification("Outrigger is still running",
		"The services keep running. Open Outrigger from the tray icon; quit from its menu."), notifyInfo)
}
