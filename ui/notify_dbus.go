//go:build linux || freebsd || openbsd || netbsd

package ui

import (
	"context"
	"time"

	"fyne.io/fyne/v2"
	"github.com/godbus/dbus/v5"
)

// Notification timeouts: Fyne sends 0 ("never expires"), which leaves a
// crash note on screen long after the service came back.
const (
	infoTimeout     = 8 * time.Second
	criticalTimeout = 30 * time.Second
)

// sendNotification sends through the desktop's notification server
// (org.freedesktop.Notifications) with a timeout and an urgency, under
// the app's name; without a session bus it falls back to Fyne.
func sendNotification(a fyne.App, n *fyne.Notification, urg notifyUrgency) {
	conn, err := sharedSessionBus()
	if err != nil {
		a.SendNotification(n)
		return
	}
	timeout, level := infoTimeout, byte(1)
	if urg == notifyCritical {
		timeout, level = criticalTimeout, 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	obj := conn.Object("org.freedesktop.Notifications", "/org/freedesktop/Notifications")
	call := obj.CallWithContext(ctx, "org.freedesktop.Notifications.Notify", 0,
		"Outrigger", uint32(0), "", n.Title, n.Content, []string{},
		map[string]dbus.Variant{"urgency": dbus.MakeVariant(level)}, int32(timeout/time.Millisecond))
	if call.Err != nil {
		a.SendNotification(n) // Fyne logs what went wrong
	}
}
