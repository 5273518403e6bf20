//go:build !(linux || freebsd || openbsd || netbsd)

package ui

import "fyne.io/fyne/v2"

// sendNotification: macOS and Windows choose the timeout themselves.
func sendNotification(a fyne.App, n *fyne.Notification, _ notifyUrgency) {
	a.SendNotification(n)
}
