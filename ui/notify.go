package ui

import (
	"fmt"
	"time"

	"fyne.io/fyne/v2"

	"outrigger/core/supervisor"
)

// notifier sends desktop notifications for what a user away from the
// window should know: a crash that was restarted (rate-limited, so a crash
// loop is one notification, not dozens), a sidecar that gave up, and a
// fall-back to Standalone.
type notifier struct {
	u      *UI
	now    func() time.Time
	send   func(*fyne.Notification)
	last   map[string]time.Time // per sidecar: the last crash notification
	recent []time.Time          // every crash notification in the last window
	hidden bool
}

// Crash notifications: at most one per sidecar per crashEvery, and at most
// crashBurst for all sidecars per crashEvery.
const (
	crashEvery = 2 * time.Minute
	crashBurst = 3
)

func newNotifier(u *UI) *notifier {
	n := &notifier{u: u, now: time.Now, last: map[string]time.Time{}}
	n.send = func(note *fyne.Notification) {
		// A D-Bus call that may take a while without a notification daemon:
		// never on the UI thread.
		go u.app.SendNotification(note)
	}
	return n
}

// event looks at one notable supervisor event. UI thread.
func (n *notifier) event(e supervisor.Event) {
	switch e.Kind {
	case supervisor.EventRestarting:
		if u := n.u; u.quitting {
			return
		}
		now := n.now()
		if t, ok := n.last[e.Sidecar]; ok && now.Sub(t) < crashEvery {
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
		n.last[e.Sidecar] = now
		n.recent = append(n.recent, now)
		body := "It is being restarted"
		if e.Delay > time.Second {
			body += " in " + shortDuration(e.Delay.Round(time.Second))
		}
		body += "."
		if e.Reason != "" {
			body = capitalize(e.Reason) + ". " + body
		}
		n.send(fyne.NewNotification(e.Sidecar+" crashed", body))
	case supervisor.EventGaveUp:
		reason := firstNonEmpty(e.Reason, e.Status.LastError, "it kept crashing")
		n.send(fyne.NewNotification(e.Sidecar+" failed",
			fmt.Sprintf("%s. Outrigger stopped restarting it; press Start to try again.", capitalize(reason))))
	}
}

// fellBack tells that the app left Service mode. UI thread.
func (n *notifier) fellBack(reason string) {
	if n.u.quitting {
		return
	}
	n.send(fyne.NewNotification("Switched to Standalone", capitalize(firstNonEmpty(reason, "the service is not available"))+"."))
}

// hiddenOnce says, the first time only, that closing the window kept the
// app (and its sidecars) running in the tray.
func (n *notifier) hiddenOnce() {
	if n.hidden {
		return
	}
	n.hidden = true
	n.send(fyne.NewNotification("Outrigger is still running",
		"The services keep running. Open Outrigger from the tray icon; quit from its menu."))
}
