//go:build linux || freebsd || netbsd || openbsd

package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/systray"

	"outrigger/ui/uithread"
)

func platformTrayHost(desktop.App) trayHost { return &systrayHost{done: make(chan struct{})} }

// systrayHost is the tray on a D-Bus desktop, driven through
// fyne.io/systray itself rather than through Fyne's desktop.App. Fyne
// hands a tray click to its app loop and waits there; but while the
// window is hidden in the tray, that loop sleeps (uithread's parker), and
// nothing tells it a click came. Here a click goes through uithread.Do,
// which wakes the loop, whatever the tray host says or does not say about
// its menu.
type systrayHost struct {
	end  func()        // ends the tray (systray's external-loop end)
	done chan struct{} // closed by stop: a click waiting for the UI thread gives up
}

func (h *systrayHost) start(onTap func()) {
	start, end := systray.RunWithExternalLoop(nil, nil)
	h.end = end
	systray.SetTitle("Outrigger") // some hosts crash on an item without one (fyne-io/fyne#3678)
	systray.SetOnTapped(onTap)
	start() // connects to the session bus and registers the item
}

// setMenu replaces the menu. Each item with an action gets a goroutine
// that hands its clicks to the UI thread; it ends when ResetMenu removes
// the item (systray closes its channel), or at stop.
func (h *systrayHost) setMenu(m *fyne.Menu) {
	systray.ResetMenu()
	h.addItems(m.Items, nil)
}

func (h *systrayHost) addItems(items []*fyne.MenuItem, parent *systray.MenuItem) {
	for _, it := range items {
		if it.IsSeparator {
			if parent == nil {
				systray.AddSeparator()
			} else {
				parent.AddSeparator()
			}
			continue
		}
		var s *systray.MenuItem
		switch {
		case parent == nil && it.Checked:
			s = systray.AddMenuItemCheckbox(it.Label, "", true)
		case parent == nil:
			s = systray.AddMenuItem(it.Label, "")
		case it.Checked:
			s = parent.AddSubMenuItemCheckbox(it.Label, "", true)
		default:
			s = parent.AddSubMenuItem(it.Label, "")
		}
		if it.Disabled {
			s.Disable()
		}
		if it.ChildMenu != nil {
			h.addItems(it.ChildMenu.Items, s)
		}
		if f := it.Action; f != nil {
			go h.takeClicks(s.ClickedCh, f)
		}
	}
}

// takeClicks runs f on the UI thread for each click, one at a time: the
// next click is taken once f ran, and systray drops clicks that come
// meanwhile, so a client on the session bus sending clicks in a loop
// queues at most one per item.
func (h *systrayHost) takeClicks(clicked <-chan struct{}, f func()) {
	for range clicked {
		ran := make(chan struct{})
		uithread.Do(func() { defer close(ran); f() })
		select {
		case <-ran:
		case <-h.done: // the loop ended: f will not run
			return
		}
	}
}

func (h *systrayHost) setIcon(r fyne.Resource) { systray.SetIcon(r.Content()) }
func (h *systrayHost) setTooltip(s string)     { systray.SetTooltip(s) }

// stop removes the items (their goroutines end) and the tray's D-Bus
// connection, which takes the icon away.
func (h *systrayHost) stop() {
	if h.end == nil {
		return
	}
	close(h.done)
	systray.ResetMenu()
	h.end()
	h.end = nil
}
