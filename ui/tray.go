package ui

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"github.com/godbus/dbus/v5"

	"outrigger/assets"
	"outrigger/core/modes"
	"outrigger/core/supervisor"
)

// Icons of the app and of the tray's states (assets/, original art).
var (
	appIconRes       = fyne.NewStaticResource("outrigger.png", assets.Icon)
	trayReadyRes     = fyne.NewStaticResource("tray-ready.png", assets.TrayReady)
	trayStartingRes  = fyne.NewStaticResource("tray-starting.png", assets.TrayStarting)
	trayFailedRes    = fyne.NewStaticResource("tray-failed.png", assets.TrayFailed)
	trayIdleRes      = fyne.NewStaticResource("tray-idle.png", assets.TrayIdle)
	trayIconForLevel = map[Overall]fyne.Resource{
		OverallReady: trayReadyRes, OverallStarting: trayStartingRes,
		OverallFailed: trayFailedRes, OverallIdle: trayIdleRes, OverallWarning: trayFailedRes,
	}
)

// StatusNotifierWatcher is the D-Bus name a Linux tray host owns.
const statusNotifierWatcher = "org.kde.StatusNotifierWatcher"

// TrayEnv, set to 0, turns the tray off (for example on a desktop whose
// tray host misbehaves); the window's close button then asks to quit.
const TrayEnv = "OUTRIGGER_TRAY"

// trayAvailable reports whether a system tray can be used, and why not.
// On Linux and the BSDs that needs a session bus with a StatusNotifier
// host: without a bus, Fyne's systray panics on quit (fyne-io/fyne#6403),
// and without a host the icon would never show, leaving a hidden window
// that nobody can bring back.
var trayAvailable = func() (bool, string) {
	if os.Getenv(TrayEnv) == "0" {
		return false, TrayEnv + "=0"
	}
	switch runtime.GOOS {
	case "windows", "darwin":
		return true, ""
	}
	conn, err := connectSessionBus()
	if err != nil {
		return false, "no D-Bus session bus: " + err.Error()
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var has bool
	err = conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, statusNotifierWatcher).Store(&has)
	if err != nil {
		return false, "D-Bus NameHasOwner: " + err.Error()
	}
	if !has {
		return false, "no system tray host (" + statusNotifierWatcher + " has no owner)"
	}
	return true, ""
}

// tray is the system tray icon and menu: each sidecar with its state (and
// a submenu to start, stop, restart it or see its logs), Show window,
// Start all / Stop all, the Mode submenu, Quit.
type tray struct {
	d       trayDeps
	host    trayHost
	enabled bool

	menu  *fyne.Menu
	level Overall
	icon  fyne.Resource
	sig   string // what the menu showed last: refresh only on change
	tip   string // the tooltip shown last
}

// trayDeps is what the tray shows and does. The funcs run on the UI
// thread, but show, which a tap on the icon calls from the tray's own
// goroutine.
type trayDeps struct {
	overall  func() (Overall, string)
	statuses func() []supervisor.Status // in configuration order
	quitting func() bool
	// command runs a sidecar command ("start", "stop", "restart") off the
	// UI thread; a failure brings the window up with the reason.
	command                           func(what, name string)
	showLogs                          func(name string)
	showWindow                        func()
	show                              func() // any goroutine
	startAll, stopAll, diagnose, quit func()
	modes                             modeMenu // nil: no Mode submenu
}

// modeMenu is what the tray's Mode submenu needs of the mode switcher.
type modeMenu interface {
	current() modes.Kind
	busy() bool
	choose(modes.Kind)
}

func newTray(app fyne.App, log *slog.Logger, d trayDeps) *tray {
	t := &tray{d: d, level: -1}
	desk, ok := app.(desktop.App)
	if !ok {
		return t
	}
	avail, why := trayAvailable()
	if !avail {
		log.Info("no system tray; closing the window will ask whether to quit", "reason", why)
		return t
	}
	t.host, t.enabled = newTrayHost(desk), true
	return t
}

// start shows the icon and the menu. UI thread (or before Run).
func (t *tray) start() {
	if !t.enabled {
		return
	}
	// The icon, tooltip and menu before the item registers: a host reads
	// them as soon as it does, and fyne.io/systray changes a property in
	// place, racing a host's read of it (the race detector caught one).
	t.menu = fyne.NewMenu("Outrigger")
	t.build()
	t.setIcon()
	t.host.setMenu(t.menu)
	t.host.start(t.d.show)
}

// stop takes the tray away once the quit work is done. UI goroutine.
func (t *tray) stop() {
	if t.enabled {
		t.enabled = false
		t.call(t.host.stop)
	}
}

// refresh rebuilds the menu when what it shows changed, and the icon when
// the overall state did. UI thread.
func (t *tray) refresh() {
	if !t.enabled || t.menu == nil {
		return
	}
	t.setIcon()
	if t.enabled && t.build() {
		t.call(func() { t.host.setMenu(t.menu) })
	}
}

func (t *tray) setIcon() {
	level, text := t.d.overall()
	if tip := "Outrigger — " + text; tip != t.tip {
		t.tip = tip
		t.call(func() { t.host.setTooltip(tip) })
	}
	if level == t.level {
		return
	}
	t.level = level
	t.icon = trayIconForLevel[level]
	t.call(func() { t.host.setIcon(t.icon) })
}

// call runs a change of the tray. Fyne's own SIGINT/SIGTERM handler can
// end the app (and close the tray's D-Bus connection) while our quit path
// still shows sidecars stopping; systray then panics with dbus.ErrClosed.
// The tray is gone at that point: it stays off.
func (t *tray) call(f func()) {
	defer func() {
		if r := recover(); r != nil {
			if err, ok := r.(error); ok && errors.Is(err, dbus.ErrClosed) {
				t.enabled = false
				return
			}
			panic(r)
		}
	}()
	f()
}

// build fills the menu's items; it reports whether they changed.
func (t *tray) build() bool {
	items, sig := trayItems(t.d)
	if sig == t.sig {
		return false
	}
	t.sig = sig
	t.menu.Items = items
	return true
}

// trayItems builds the tray menu's items and a signature of what they
// show (labels, checks, enabled), so an unchanged menu is not re-sent.
func trayItems(d trayDeps) ([]*fyne.MenuItem, string) {
	var items []*fyne.MenuItem
	var sig strings.Builder
	add := func(it *fyne.MenuItem) *fyne.MenuItem {
		items = append(items, it)
		return it
	}
	note := func(it *fyne.MenuItem) {
		sig.WriteString(it.Label)
		if it.Checked {
			sig.WriteString("✓")
		}
		if it.Disabled {
			sig.WriteString("⊘")
		}
		sig.WriteByte('|')
		if it.ChildMenu != nil {
			sig.WriteByte('[')
			for _, c := range it.ChildMenu.Items {
				if !c.IsSeparator {
					sig.WriteString(c.Label)
					if c.Disabled {
						sig.WriteString("⊘")
					}
					if c.Checked {
						sig.WriteString("✓")
					}
				}
				sig.WriteByte(',')
			}
			sig.WriteByte(']')
		}
	}

	level, summary := d.overall()
	head := add(fyne.NewMenuItem("Outrigger — "+summary, nil))
	head.Disabled = true
	note(head)
	_ = level
	busy := d.quitting()
	for _, st := range d.statuses() {
		name := st.Name
		word := lookOf(st.State).Word
		if st.State == supervisor.Ready && st.Port > 0 {
			word += " · :" + strconv.Itoa(st.Port)
		}
		it := fyne.NewMenuItem(statusGlyph(st.State)+" "+name+" — "+word, nil)
		start, stop, restart := buttonsFor(st.State)
		sStart := fyne.NewMenuItem(startLabel(st.State), func() { d.command("start", name) })
		sStart.Disabled = !start || busy
		sStop := fyne.NewMenuItem("Stop", func() { d.command("stop", name) })
		sStop.Disabled = !stop || busy
		sRestart := fyne.NewMenuItem("Restart", func() { d.command("restart", name) })
		sRestart.Disabled = !restart || busy
		sLogs := fyne.NewMenuItem("Show logs", func() { d.showLogs(name); d.showWindow() })
		it.ChildMenu = fyne.NewMenu(name, sStart, sStop, sRestart, fyne.NewMenuItemSeparator(), sLogs)
		add(it)
		note(it)
	}
	add(fyne.NewMenuItemSeparator())
	show := add(fyne.NewMenuItem("Show window", d.showWindow))
	note(show)
	startAll := add(fyne.NewMenuItem("Start all", d.startAll))
	startAll.Disabled = busy
	note(startAll)
	stopAll := add(fyne.NewMenuItem("Stop all", d.stopAll))
	stopAll.Disabled = busy
	note(stopAll)
	if m := d.modes; m != nil {
		var sub []*fyne.MenuItem
		for _, k := range modeOrder {
			it := fyne.NewMenuItem(modeTitle(k), func() {
				if k == modes.Connected && m.current() != modes.Connected {
					d.showWindow() // the gateway URL is entered in the window
				}
				m.choose(k)
			})
			it.Checked = m.current() == k
			it.Disabled = m.busy() || busy
			sub = append(sub, it)
		}
		label := "Mode: " + modeTitle(m.current())
		if m.busy() {
			label += " (switching…)"
		}
		mode := add(fyne.NewMenuItem(label, nil))
		mode.ChildMenu = fyne.NewMenu("Mode", sub...)
		note(mode)
	}
	diag := add(fyne.NewMenuItem("Save diagnostics…", func() { d.showWindow(); d.diagnose() }))
	note(diag)
	add(fyne.NewMenuItemSeparator())
	quit := add(fyne.NewMenuItem("Quit", d.quit))
	quit.IsQuit = true
	quit.Disabled = busy
	note(quit)
	return items, sig.String()
}

// statusGlyph is a coloured-looking mark for menus, which cannot show
// colour: ● running, ◐ starting, ○ stopped, ✕ failed.
func statusGlyph(s supervisor.State) string {
	switch s {
	case supervisor.Ready:
		return "●"
	case supervisor.Starting, supervisor.Stopping, supervisor.Backoff:
		return "◐"
	case supervisor.Unhealthy:
		return "▲"
	case supervisor.Failed:
		return "✕"
	}
	return "○"
}

// showWindow brings the window up. UI thread.
func (u *UI) showWindow() {
	if u.win == nil {
		return
	}
	u.win.Show()
	u.win.RequestFocus()
	u.setVisible(true)
}

// trayCommand runs a sidecar command from the tray; an error shows the
// window with the message.
func (u *UI) trayCommand(what, name string) {
	fn := map[string]func(context.Context, string) error{
		"start": u.startSidecar, "stop": u.stopSidecar, "restart": u.restartSidecar}[what]
	go func() {
		if err := fn(context.Background(), name); err != nil {
			u.do(func() {
				u.showWindow()
				u.showError("Could not "+what+" "+name, err)
			})
		}
	}()
}
