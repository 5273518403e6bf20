// Package ui is Outrigger's native window, tray, log viewer, settings and
// notifications, built with Fyne. It only reads the core through its
// events: a goroutine per subscription keeps the newest status per sidecar
// and hands them to widgets in one fyne.Do per frame (see coalescer), so a
// flood of events cannot freeze the window and an idle app does no work.
package ui

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"outrigger/core/autostart"
	"outrigger/core/config"
	"outrigger/core/diagnostics"
	"outrigger/core/logs"
	"outrigger/core/modes"
	"outrigger/core/supervisor"
	"outrigger/ui/uithread"
	"outrigger/ui/workflows"
)

// ModeController is what the UI needs of core/modes; *modes.Controller
// satisfies it (tests use a fake).
type ModeController interface {
	Current() modes.Mode
	Health() (reachable bool, checked time.Time, err error)
	Subscribe() (<-chan modes.Event, func())
	EnableService(name string, env map[string]string) *modes.Transition
	EnableStandalone() *modes.Transition
	EnableConnected(url string) *modes.Transition
	Connect(url string, o modes.ConnectOptions) *modes.Transition
}

var _ ModeController = (*modes.Controller)(nil)

// Deps is everything the UI works with. main.go builds it.
type Deps struct {
	Sup        *supervisor.Supervisor
	Modes      ModeController // nil: no mode switcher
	Config     config.Config
	ConfigFile string        // the outrigger.toml settings are saved to
	Store      *config.Store // edits outrigger.toml; nil: settings cannot be saved
	LogDir     string        // "open log folder"
	Logger     *slog.Logger
	// Watch asks for live CPU and memory samples while the window is
	// shown; the returned func ends the request. nil: nothing to ask.
	Watch func() (cancel func())
	// Shutdown is the quit work (disable restarts, stop everything); the UI
	// shows a progress dialog while it runs, then quits the app.
	Shutdown func(ctx context.Context) error
	// StartHidden starts in the tray with the window hidden (outrigger
	// --hidden, as the login entry starts it); without a tray the window
	// shows anyway, since nothing could bring it up.
	StartHidden bool
}

// frame is the shortest time between two batches of core events applied
// to the widgets.
const frame = 60 * time.Millisecond

// UI is the window, the tray and everything in them.
type UI struct {
	app fyne.App
	d   Deps
	log *slog.Logger
	win fyne.Window

	names []string
	cards map[string]*card
	queue eventQueue // events on their way to the UI thread (pump)

	header   *header
	footText *canvas.Text
	modeSw   *modeSwitcher
	tabs     *container.AppTabs
	logsTab  *container.TabItem
	setTab   *container.TabItem
	logs     *logsPanel
	sets     *settingsPanel
	tray     *tray
	notes    *notifier
	wf       *workflows.Panel
	wfEnd    atomic.Pointer[workflows.Endpoint] // the engine the Workflows tab talks to (see syncWorkflows)

	loginItem *fyne.MenuItem // File › Start at login

	// UI thread only.
	visible   bool
	unwatch   func()        // ends Deps.Watch's request; nil while hidden
	stale     bool          // metrics arrived while hidden, not yet shown
	tickTimer *time.Timer   // the clock for uptimes and countdowns (see updateTicker)
	tickDue   time.Duration // what tickTimer was set to
	built     bool
	started   bool
	statuses  map[string]supervisor.Status // newest applied

	unsub    []func()
	done     chan struct{} // closed when the UI stops listening to the core
	stopOnce sync.Once

	loopOver     atomic.Bool // the app loop ended or is ending: no more UI work
	quitOnce     sync.Once
	shutdownDone chan struct{}
	quitting     bool        // UI thread only
	quitDialog   *time.Timer // shows the progress dialog of a long quit; UI thread only

	// applied, when set (tests), runs on the UI thread after each batch.
	applied func()
	// now is the clock for uptimes and countdowns (tests fix it).
	now func() time.Time
	// confirm asks a yes/no question (tests answer it).
	confirm func(title, message string, then func(bool))

	shotPath            string // OUTRIGGER_SCREENSHOT
	shotArmed, shotDone bool
	shotReady           bool // the overall level is Ready
}

// New prepares the UI; nothing is shown until Run.
func New(a fyne.App, d Deps) *UI {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if isNil(d.Modes) {
		d.Modes = nil
	}
	u := &UI{
		app:          a,
		d:            d,
		log:          d.Logger.With("component", "ui"),
		cards:        map[string]*card{},
		statuses:     map[string]supervisor.Status{},
		done:         make(chan struct{}),
		shutdownDone: make(chan struct{}),
	}
	if d.Sup != nil {
		u.names = d.Sup.Names()
	} else {
		for _, s := range d.Config.Sidecars {
			u.names = append(u.names, s.Name)
		}
	}
	u.now = time.Now
	if a != nil && a.Icon() == nil {
		a.SetIcon(appIconRes)
	}
	u.confirm = func(title, message string, then func(bool)) {
		if u.win == nil {
			then(false)
			return
		}
		// Asked from the tray (Mode › Standalone) the window may be
		// hidden: a question on it would never be seen.
		if !u.visible {
			u.showWindow()
		}
		dialog.ShowConfirm(title, message, then, u.win)
	}
	return u
}

func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}

// Run builds the window and the tray, subscribes to the core, shows the
// window and runs the app loop. It returns after the app quit and the quit
// work (Deps.Shutdown) finished, whichever way the quit began.
func (u *UI) Run() {
	u.open()
	u.app.Run()
	u.loopOver.Store(true)
	uithread.StopParking() // also when Fyne's own signal handler ended the loop
	u.log.Debug("quit: app loop ended")
	// Usually the loop ends through our quit path; but Fyne's own SIGINT /
	// SIGTERM handler ends it at once (see uithread), so make sure the quit
	// work runs and finishes before returning.
	u.Quit()
	<-u.shutdownDone
	if u.tray != nil {
		u.tray.stop()
	}
	u.stopListening()
}

// open builds the window and shows it, or leaves it hidden in the tray
// when asked to (Deps.StartHidden) and there is one. UI thread, before Run.
func (u *UI) open() {
	u.build()
	u.start()
	u.armScreenshot()
	if u.d.StartHidden && u.tray != nil && u.tray.enabled {
		u.log.Info("started in the tray, window hidden (--hidden)")
		uithread.SetHidden(true)
		return
	}
	u.win.Show()
	u.setVisible(true)
}

// Show brings the window to the front. Safe from any goroutine.
func (u *UI) Show() {
	u.do(func() {
		if u.win == nil {
			return
		}
		u.win.Show()
		u.win.RequestFocus()
		u.setVisible(true)
	})
}

// Quit is the one quit path (tray, window menu, signals): it shows
// "Stopping sidecars…" while Deps.Shutdown runs, then quits the app. Safe
// from any goroutine, any number of times.
func (u *UI) Quit() {
	u.quitOnce.Do(func() {
		go u.shutdown()
	})
}

// quitDialogDelay is how long a quit runs before it shows its progress
// dialog. Most quits are over well before (every sidecar stops in some
// 15 ms): painting the dialog, a full frame per tick of its animation,
// would only flash, and on a software-rendered display it kept the UI
// thread from running the end of the quit for up to a second and more.
const quitDialogDelay = 300 * time.Millisecond

func (u *UI) shutdown() {
	defer close(u.shutdownDone)
	// The window stops following the core at once: the cards would only
	// show each sidecar stopping, and every repaint would delay the quit.
	u.stopListening()
	u.log.Debug("quit: UI stopped listening")
	u.do(u.beginQuit)
	if u.d.Shutdown != nil {
		if err := u.d.Shutdown(context.Background()); err != nil {
			u.log.Warn("shutdown", "err", err)
		}
	}
	u.log.Debug("quit: sidecars stopped")
	u.do(u.endQuit)
}

// beginQuit turns off what could start something (the tray's items, the
// mode buttons) and shows the progress dialog if the quit takes long. UI
// thread.
func (u *UI) beginQuit() {
	u.quitting = true
	uithread.StopParking() // the quit's own hand-overs and Fyne's run at once
	if u.tray != nil {
		u.tray.refresh()
	}
	u.updateTicker()
	u.quitDialog = time.AfterFunc(quitDialogDelay, func() { u.do(u.showQuitting) })
}

// endQuit ends the app loop once the quit work is done. UI thread.
func (u *UI) endQuit() {
	if u.quitDialog != nil {
		u.quitDialog.Stop()
	}
	// Nothing more for the widgets: Fyne may still run work queued before
	// this (its loop picks the queue and its quit signal in any order)
	// after it stopped the tray.
	u.loopOver.Store(true)
	if u.win != nil {
		u.win.Hide()
	}
	u.app.Quit()
}

// showQuitting shows the progress dialog of the quit path. UI thread.
func (u *UI) showQuitting() {
	if u.win == nil || !u.built {
		return
	}
	bar := widget.NewProgressBarInfinite()
	msg := widget.NewLabel("Stopping every sidecar gracefully. This takes at most their stop timeout.")
	msg.Wrapping = fyne.TextWrapWord
	d := dialog.NewCustomWithoutButtons("Stopping sidecars…", container.NewVBox(msg, bar), u.win)
	d.Resize(fyne.NewSize(420, 0))
	d.Show()
	if u.modeSw != nil {
		u.modeSw.render()
	}
}

// build creates the window and its content. UI thread (or before Run).
func (u *UI) build() {
	if u.built {
		return
	}
	u.built = true
	u.win = u.app.NewWindow("Outrigger")
	u.win.SetContent(u.content())
	u.win.Resize(fyne.NewSize(960, 600)) // fits a 1024 × 600 screen
	u.win.SetMaster()
	u.win.SetMainMenu(u.mainMenu())
	u.win.SetIcon(appIconRes)
	u.tray = newTray(u.app, u.log, u.trayDeps())
	u.notes = newNotifier(notifierDeps{app: u.app, do: u.do,
		quitting: func() bool { return u.quitting }, status: u.status})
	u.win.SetCloseIntercept(u.onClose)
	u.win.Canvas().AddShortcut(closeShortcut, func(fyne.Shortcut) { u.onClose() })
	u.win.Canvas().AddShortcut(quitShortcut, func(fyne.Shortcut) { u.requestQuit() })
	u.app.Settings().AddListener(func(fyne.Settings) { u.do(u.restyle) })
}

// content is the window's whole content: header, tabs.
func (u *UI) content() fyne.CanvasObject {
	var modeRow fyne.CanvasObject
	if u.d.Modes != nil {
		u.modeSw = newModeSwitcher(u.modeDeps())
		modeRow = u.modeSw.root
	}
	u.header = newHeader(appIcon(u.app), modeRow)
	overview := u.overview()
	u.logs = newLogsPanel(u.logsDeps())
	u.sets = newSettingsPanel(u.settingsDeps())
	u.logsTab = container.NewTabItemWithIcon("Logs", theme.ListIcon(), fit(u.logs.root))
	u.setTab = container.NewTabItemWithIcon("Settings", theme.SettingsIcon(), fit(u.sets.root))
	u.wf = u.newWorkflows()
	u.tabs = container.NewAppTabs(
		container.NewTabItemWithIcon("Services", theme.ComputerIcon(), fit(overview)),
		u.logsTab,
		u.setTab,
		container.NewTabItemWithIcon("Workflows", theme.MediaPlayIcon(), fit(u.wf.Object())),
	)
	u.tabs.OnSelected = func(*container.TabItem) {
		u.logs.setActive(u.tabs.Selected() == u.logsTab && u.visible)
		if u.tabs.Selected() == u.setTab {
			u.sets.syncLogin()
		}
	}
	return container.NewBorder(u.header.root, nil, nil, nil, u.tabs)
}

// fit scrolls a tab's content in both directions: the tabs take the
// largest minimum size of all their contents, and a Fyne window grows to
// its content's minimum, so a long text on any tab would widen the window
// for good. Scrolled, it never asks for more than a few pixels.
func fit(o fyne.CanvasObject) fyne.CanvasObject {
	return container.NewScroll(o)
}

// overview is the list of sidecar cards.
func (u *UI) overview() fyne.CanvasObject {
	box := container.NewVBox()
	deps := cardDeps{
		start: u.startSidecar, stop: u.stopSidecar, restart: u.restartSidecar,
		showLogs: u.showLogs, showSettings: u.showSettings, showError: u.showError,
		do: u.do, now: func() time.Time { return u.now() },
		stderrTail: u.stderrTail,
		copy:       func(s string) { u.app.Clipboard().SetContent(s) },
		showChart:  u.showChart,
	}
	for _, n := range u.names {
		c := newCard(deps, n)
		u.cards[n] = c
		box.Add(c.root)
	}
	if len(u.names) == 0 {
		box.Add(widget.NewLabel("No sidecar is configured."))
	}
	return container.NewBorder(nil, u.footer(), nil, nil, container.NewVScroll(container.NewPadded(box)))
}

// footer says where the logs and the settings live.
func (u *UI) footer() fyne.CanvasObject {
	dir := u.d.LogDir
	if dir == "" && u.d.Sup != nil {
		dir = u.d.Sup.LogDir()
	}
	var parts []string
	if dir != "" {
		parts = append(parts, "Logs in "+dir)
	}
	if u.d.ConfigFile != "" {
		parts = append(parts, "settings in "+u.d.ConfigFile)
	}
	if len(parts) == 0 {
		return container.NewStack()
	}
	u.footText = canvas.NewText(strings.Join(parts, " · "), colorOf(theme.ColorNamePlaceHolder))
	u.footText.TextSize = theme.CaptionTextSize()
	open := widget.NewButtonWithIcon("Open log folder", theme.FolderOpenIcon(), u.openLogFolder)
	open.Importance = widget.LowImportance
	return container.NewPadded(container.NewBorder(nil, nil, nil, open, container.NewHBox(container.NewCenter(u.footText))))
}

// restyle repaints what holds theme colours, after the theme or its
// variant changed (the desktop went dark, say). UI thread.
func (u *UI) restyle() {
	for _, c := range u.cards {
		c.restyle()
	}
	if u.header != nil {
		u.header.styled = false
		u.refreshOverall()
	}
	if u.modeSw != nil {
		u.modeSw.render()
	}
	if u.footText != nil {
		u.footText.Color = colorOf(theme.ColorNamePlaceHolder)
		u.footText.Refresh()
	}
	if u.logs != nil {
		u.logs.list.Refresh()
	}
}

// Ctrl+W (⌘W) closes the window as its close button does; Ctrl+Q (⌘Q)
// quits.
var (
	closeShortcut = &desktop.CustomShortcut{KeyName: fyne.KeyW, Modifier: fyne.KeyModifierShortcutDefault}
	quitShortcut  = &desktop.CustomShortcut{KeyName: fyne.KeyQ, Modifier: fyne.KeyModifierShortcutDefault}
)

func (u *UI) mainMenu() *fyne.MainMenu {
	quit := fyne.NewMenuItem("Quit", u.requestQuit)
	quit.IsQuit = true
	quit.Shortcut = quitShortcut
	login := fyne.NewMenuItem("Start at login", nil)
	login.Checked, _ = autostart.Enabled()
	login.Action = func() { u.toggleLogin(login) }
	u.loginItem = login
	file := fyne.NewMenu("File",
		fyne.NewMenuItem("Start all", u.startAll),
		fyne.NewMenuItem("Stop all", u.stopAll),
		fyne.NewMenuItemSeparator(),
		fyne.NewMenuItem("Open log folder", u.openLogFolder),
		login,
		fyne.NewMenuItemSeparator(),
		quit,
	)
	help := fyne.NewMenu("Help", fyne.NewMenuItem("Save diagnostics…", u.saveDiagnostics))
	return fyne.NewMainMenu(file, help)
}

// toggleLogin turns starting at login on or off (off by default; the
// login entry is core/autostart's, which the uninstaller removes). UI
// thread.
func (u *UI) toggleLogin(item *fyne.MenuItem) {
	err := autostart.Disable()
	if !item.Checked {
		err = autostart.Enable()
	}
	if err != nil {
		u.showError("Could not change Start at login", err)
	}
	item.Checked, _ = autostart.Enabled()
	u.loginChanged()
	if u.sets != nil {
		u.sets.syncLogin()
	}
}

// loginChanged shows in the File menu whether Outrigger starts at login.
// UI thread.
func (u *UI) loginChanged() {
	if u.loginItem == nil {
		return
	}
	u.loginItem.Checked, _ = autostart.Enabled()
	if u.win != nil && u.win.MainMenu() != nil {
		u.win.MainMenu().Refresh()
	}
}

// onClose is the window's close button: hide to the tray when there is
// one (the sidecars keep running: a workflow may be in progress);
// otherwise ask, since a hidden window without a tray could never be
// brought back.
func (u *UI) onClose() {
	if u.quitting {
		return
	}
	if u.tray != nil && u.tray.enabled {
		u.win.Hide()
		u.setVisible(false)
		u.notes.hiddenOnce()
		return
	}
	msg := "There is no system tray to keep Outrigger in.\nQuitting stops every sidecar."
	if name := u.unsavedSettings(); name != "" {
		msg += "\nThe changes to " + name + "'s settings are not saved: quitting drops them."
	}
	u.confirm("Quit Outrigger?", msg, func(ok bool) {
		if ok {
			u.Quit()
		}
	})
}

// requestQuit is a quit the user asked for (the File menu, Ctrl+Q, the
// tray): unsaved settings edits are not dropped without asking. A quit
// from a signal or the session goes straight to Quit. UI thread.
func (u *UI) requestQuit() {
	name := u.unsavedSettings()
	if name == "" {
		u.Quit()
		return
	}
	u.confirm("Quit and drop the changes to "+name+"?",
		name+"'s settings have changes that are not saved.\nQuitting drops them; Save them in Settings first to keep them.",
		func(ok bool) {
			if ok {
				u.Quit()
			}
		})
}

// unsavedSettings is the sidecar whose settings hold unsaved edits, or "".
// UI thread.
func (u *UI) unsavedSettings() string {
	if u.sets == nil || u.sets.name == "" || u.quitting || !u.sets.edits() {
		return ""
	}
	return u.sets.name
}

// start subscribes to the core. Before Run, or on the UI thread.
func (u *UI) start() {
	if u.started {
		return
	}
	u.started = true
	if u.d.Sup != nil {
		ch, cancel := u.d.Sup.Subscribe()
		u.unsub = append(u.unsub, cancel)
		go u.pump(ch)
	}
	if u.d.Modes != nil && u.modeSw != nil {
		u.unsub = append(u.unsub, u.modeSw.start(u.d.Store, u.done))
	}
	if u.sets != nil {
		u.unsub = append(u.unsub, u.sets.follow(u.d.Store))
	}
	if u.tray != nil {
		u.tray.start()
		if u.tray.enabled {
			uithread.ParkWhenHidden(u.log)
		}
	}
}

// stopListening ends the subscriptions and the ticker. Any goroutine.
func (u *UI) stopListening() {
	u.stopOnce.Do(func() {
		close(u.done)
		if u.wf != nil {
			u.wf.Close()
		}
		for _, f := range u.unsub {
			f()
		}
	})
}

// pump hands the supervisor's events to the UI thread. The bus already
// coalesces state and metrics events per sidecar and never blocks;
// notable events (a crash, a give-up) are never merged away and reach the
// notifier and the log markers.
//
// Events that arrive while a hand-over is still waiting for the UI thread
// join it: each hand-over wakes the UI thread, and a watched sweep reports
// every sidecar's metrics at once (50 sidecars shown were 50 wake-ups a
// second, one per event).
func (u *UI) pump(ch <-chan supervisor.Event) {
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				return
			}
			u.queue.mu.Lock()
			post := u.queue.add(e)
			u.queue.mu.Unlock()
			if post {
				u.do(u.applyQueued)
			}
		case <-u.done:
			return
		}
	}
}

// eventQueue is the events pump has handed over and the UI thread has not
// yet applied.
type eventQueue struct {
	mu     sync.Mutex
	events []supervisor.Event
	posted bool // an applyQueued is on its way to the UI thread
	shown  bool // the window is shown (setVisible): metrics are painted
	// While the window is hidden, each sidecar's newest metrics, which
	// wake nobody (a parked loop sleeps on): applied after the queued
	// events, once something else is handed over or the window shows.
	idle map[string]supervisor.Event
}

// add queues e and reports whether an applyQueued must be handed over. An
// event for a sidecar takes that sidecar's waiting metrics into the queue
// before it, so a sidecar's events are applied in order, and whatever
// stays in idle is newer than anything queued for its sidecar.
func (q *eventQueue) add(e supervisor.Event) bool {
	if e.Kind == supervisor.EventMetrics && !q.shown {
		if q.idle == nil {
			q.idle = map[string]supervisor.Event{}
		}
		q.idle[e.Sidecar] = e
		return false
	}
	if m, ok := q.idle[e.Sidecar]; ok {
		q.events = append(q.events, m)
		delete(q.idle, e.Sidecar)
	}
	q.events = append(q.events, e)
	post := !q.posted
	q.posted = true
	return post
}

// applyQueued applies every event queued so far, in order, then the
// waiting metrics. UI thread.
func (u *UI) applyQueued() {
	u.queue.mu.Lock()
	batch := u.queue.events
	for _, m := range u.queue.idle {
		batch = append(batch, m)
	}
	u.queue.events, u.queue.posted = nil, false
	clear(u.queue.idle)
	u.queue.mu.Unlock()
	for _, e := range batch {
		u.apply(e)
	}
}

// apply shows one event. UI thread.
func (u *UI) apply(e supervisor.Event) {
	u.statuses[e.Sidecar] = e.Status
	if e.Kind == supervisor.EventMetrics && !u.visible && u.built {
		// Nobody looks: keep the numbers, paint them when the window shows.
		u.stale = true
		if u.applied != nil {
			u.applied()
		}
		return
	}
	if c := u.cards[e.Sidecar]; c != nil {
		if e.Kind == supervisor.EventMetrics || !e.Status.State.HasProcess() {
			c.sample(e.Time, e.Status) // first: the CPU label shows the line's latest mean
			u.shotSampled()
		}
		c.apply(e.Status)
	}
	if e.Kind != supervisor.EventMetrics {
		u.refreshOverall()
		if u.sets != nil {
			u.sets.statusChanged()
		}
		if u.tray != nil {
			u.tray.refresh()
		}
		u.updateTicker()
		u.syncWorkflows()
	}
	if e.Kind != supervisor.EventState && e.Kind != supervisor.EventMetrics {
		if u.notes != nil {
			u.notes.event(e)
		}
		if u.logs != nil {
			u.logs.mark(e)
		}
	}
	if u.applied != nil {
		u.applied()
	}
}

// snapshot is the newest applied statuses in configuration order.
func (u *UI) snapshot() []supervisor.Status {
	out := make([]supervisor.Status, 0, len(u.names))
	for _, n := range u.names {
		st, ok := u.statuses[n]
		if !ok {
			st = supervisor.Status{Name: n, State: supervisor.Stopped}
		}
		out = append(out, st)
	}
	return out
}

// expected names the sidecars that should run without anyone asking: the
// auto-start ones while in Service mode.
func (u *UI) expected() map[string]bool {
	if u.d.Modes == nil || u.d.Modes.Current().Kind != modes.Service {
		return nil
	}
	cfg := u.d.Config
	if u.d.Store != nil {
		cfg = u.d.Store.Config()
	}
	out := map[string]bool{}
	for _, s := range cfg.Sidecars {
		if s.AutoStart {
			out[s.Name] = true
		}
	}
	return out
}

// overall is the app's level and sentence: the sidecars', and in Connected
// mode the gateway's reachability.
func (u *UI) overall() (Overall, string) {
	level, text := overall(u.snapshot(), u.expected())
	if m := u.modeSw; m != nil && m.mode.Kind == modes.Connected && level == OverallIdle {
		switch {
		case m.reachKnow && !m.reachOK:
			return OverallWarning, "Gateway unreachable"
		case m.reachKnow:
			return OverallReady, "Connected to the gateway"
		}
	}
	return level, text
}

func (u *UI) refreshOverall() {
	level, text := u.overall()
	if u.header != nil {
		u.header.setOverall(level, text)
	}
	u.maybeScreenshot(level)
	if u.win != nil {
		title := "Outrigger"
		if level == OverallFailed || level == OverallWarning {
			title = "Outrigger — " + text
		}
		if u.win.Title() != title {
			u.win.SetTitle(title)
		}
	}
}

func (u *UI) setVisible(v bool) {
	u.visible = v
	uithread.SetHidden(!v)
	u.queue.mu.Lock()
	u.queue.shown = v
	waiting := len(u.queue.idle) > 0
	u.queue.mu.Unlock()
	if v && waiting {
		u.applyQueued() // the metrics that came while hidden
	}
	switch {
	case v && u.unwatch == nil && u.d.Watch != nil:
		u.unwatch = u.d.Watch()
	case !v && u.unwatch != nil:
		u.unwatch()
		u.unwatch = nil
	}
	if v && u.stale {
		u.stale = false
		for name, st := range u.statuses {
			if c := u.cards[name]; c != nil {
				c.apply(st)
			}
		}
	}
	u.updateTicker()
	if u.logs != nil && u.tabs != nil {
		u.logs.setActive(v && u.tabs.Selected() == u.logsTab)
	}
}

// updateTicker keeps one timer for what changes with the clock alone:
// the uptimes (their text changes once a minute) and a restart
// countdown (once a second). It runs only while the window is visible,
// and fires only when a text will change. UI thread.
func (u *UI) updateTicker() {
	var next time.Duration
	if u.visible && !u.quitting {
		next = clockDue(u.statuses, u.now())
	}
	if next == u.tickDue && u.tickTimer != nil {
		return
	}
	if u.tickTimer != nil {
		u.tickTimer.Stop()
		u.tickTimer = nil
	}
	u.tickDue = next
	if next > 0 {
		u.tickTimer = time.AfterFunc(next, func() {
			u.do(func() {
				u.tickTimer, u.tickDue = nil, 0
				u.tick()
				u.updateTicker()
			})
		})
	}
}

// clockDue is how long until a clock-driven text changes: the next
// restart countdown second, or the next whole minute of an uptime; 0
// when none is shown.
func clockDue(sts map[string]supervisor.Status, now time.Time) time.Duration {
	var due time.Duration
	sooner := func(d time.Duration) {
		if d > 0 && (due == 0 || d < due) {
			due = d
		}
	}
	for _, st := range sts {
		switch {
		case st.State == supervisor.Backoff && st.NextRestartAt != nil:
			if left := st.NextRestartAt.Sub(now); left > 0 {
				sooner(left%time.Second + time.Millisecond)
			}
		case st.State.HasProcess() && st.StartedAt != nil:
			up := now.Sub(*st.StartedAt)
			if up < 0 {
				up = 0
			}
			sooner(time.Minute - up%time.Minute + time.Millisecond)
		}
	}
	return due
}

func (u *UI) tick() {
	now := u.now()
	for _, c := range u.cards {
		c.tick(now)
	}
}

// Commands. Each runs off the UI thread.

func (u *UI) startSidecar(ctx context.Context, name string) error {
	return u.d.Sup.Start(ctx, name)
}

func (u *UI) stopSidecar(ctx context.Context, name string) error {
	return u.d.Sup.Stop(ctx, name)
}

func (u *UI) restartSidecar(ctx context.Context, name string) error {
	return u.d.Sup.Restart(ctx, name)
}

func (u *UI) startAll() {
	if u.d.Sup == nil {
		return
	}
	go func() {
		if err := u.d.Sup.StartGroup(context.Background(), u.names); err != nil {
			u.log.Warn("start all", "err", err)
			u.do(func() { u.showError("Not every sidecar started", err) })
		}
	}()
}

func (u *UI) stopAll() {
	if u.d.Sup == nil {
		return
	}
	go func() {
		if err := u.d.Sup.StopAll(context.Background()); err != nil {
			u.log.Warn("stop all", "err", err)
			u.do(func() { u.showError("Not every sidecar stopped", err) })
		}
	}()
}

func (u *UI) showLogs(name string) {
	if u.tabs == nil {
		return
	}
	u.logs.selectSidecar(name)
	u.tabs.Select(u.logsTab)
}

func (u *UI) showSettings(name string) {
	if u.tabs == nil {
		return
	}
	u.sets.selectSidecar(name)
	u.tabs.Select(u.setTab)
}

// showError shows err in a dialog. UI thread.
func (u *UI) showError(title string, err error) {
	if u.win == nil || err == nil {
		return
	}
	msg := err.Error()
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		msg = ""
		for _, e := range joined.Unwrap() {
			msg += "• " + e.Error() + "\n"
		}
	}
	l := widget.NewLabel(msg)
	l.Wrapping = fyne.TextWrapWord
	d := dialog.NewCustom(title, "OK", l, u.win)
	d.Resize(fyne.NewSize(460, 0))
	d.Show()
}

// stderrTail is the last n stderr lines of a sidecar's ring.
func (u *UI) stderrTail(name string, n int) []string {
	if u.d.Sup == nil {
		return nil
	}
	ring := u.d.Sup.Logs(name)
	if ring == nil {
		return nil
	}
	all := ring.Lines()
	var out []string
	for i := len(all) - 1; i >= 0 && len(out) < n; i-- {
		if all[i].Stream == logs.Stderr {
			out = append(out, all[i].Text)
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// saveDiagnostics asks where to save a diagnostics report (Help menu and
// tray) and writes the state of that moment. UI thread.
func (u *UI) saveDiagnostics() {
	if u.win == nil {
		return
	}
	SaveDiagnostics(u.win, u.diagOptions, func(where string, err error) {
		if err != nil {
			u.log.Warn("diagnostics", "err", err)
			return
		}
		u.log.Info("diagnostics saved", "path", where)
	})
}

// diagOptions is what a report holds: the effective config, the
// supervisor's statuses and rings, Outrigger's own log and versions.
func (u *UI) diagOptions() diagnostics.Options {
	o := diagnostics.Options{Config: u.d.Config, LogDir: u.logDir(), Now: time.Now(),
		Versions: diagnostics.Versions{Fyne: FyneVersion()}}
	if u.d.Store != nil {
		o.Config = u.d.Store.Config()
	}
	if u.d.Sup != nil {
		o.Sidecars = u.d.Sup
	}
	if dir := u.logDir(); dir != "" {
		o.AppLog = filepath.Join(dir, ownLogFile)
	}
	if u.app != nil {
		o.Versions.App = u.app.Metadata().Version
	}
	return o
}

// logDir is where the sidecars' logs and Outrigger's own are written.
func (u *UI) logDir() string {
	if u.d.LogDir == "" && u.d.Sup != nil {
		return u.d.Sup.LogDir()
	}
	return u.d.LogDir
}

func (u *UI) openLogFolder() {
	dir := u.logDir()
	if dir == "" {
		return
	}
	if err := openFolder(u.app, dir); err != nil {
		u.showError("Could not open the log folder", fmt.Errorf("%s: %w", dir, err))
	}
}
