package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/systray"
)

// trayHost is where the tray's icon and menu live. Its methods run on the
// UI thread (or before Run); onTap runs on the tray's own goroutine.
type trayHost interface {
	start(onTap func())
	setMenu(m *fyne.Menu)
	setIcon(fyne.Resource)
	setTooltip(string)
	// stop takes the icon away (after the quit work, on the UI
	// goroutine); a no-op where Fyne does it as its loop ends.
	stop()
}

// newTrayHost is the platform's tray (tests replace it).
var newTrayHost = platformTrayHost

// fyneTrayHost is the tray through Fyne's desktop.App: Fyne runs a menu
// item's action on its app loop, which keeps running on the platforms
// that use it (Windows, macOS: the tray's own events need that thread).
type fyneTrayHost struct {
	desk desktop.App
	set  bool // the menu was handed to Fyne: later changes are a Refresh
}

func (h *fyneTrayHost) start(onTap func()) {
	// A left click shows the window (where the host supports it).
	systray.SetOnTapped(onTap)
}

func (h *fyneTrayHost) setMenu(m *fyne.Menu) {
	if !h.set {
		h.set = true
		h.desk.SetSystemTrayMenu(m)
		return
	}
	m.Refresh()
}

func (h *fyneTrayHost) setIcon(r fyne.Resource) { h.desk.SetSystemTrayIcon(r) }
func (h *fyneTrayHost) setTooltip(s string)     { systray.SetTooltip(s) }
func (h *fyneTrayHost) stop()                   {}
