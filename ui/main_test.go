package ui

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"github.com/godbus/dbus/v5"

	"outrigger/core/appdirs"
	"outrigger/core/config"
	"outrigger/core/modes"
	"outrigger/core/proc"
	"outrigger/core/supervisor"
	"outrigger/core/watchdog"
	"outrigger/internal/testutil"
)

func TestMain(m *testing.M) {
	proc.RunGuardianIfRequested()
	if dir := os.Getenv("UI_PREVIEW"); dir != "" {
		os.Exit(runPreview(dir, os.Getenv("UI_PREVIEW_BIN")))
	}
	// The test driver runs fyne.Do at once on the calling goroutine; make
	// every hand-over to the "UI thread" take one lock, which the tests
	// also hold while they touch widgets (onUI).
	runOnUI = func(f func()) {
		uiMu.Lock()
		defer uiMu.Unlock()
		f()
	}
	testutil.RunMain(m)
}

var uiMu sync.Mutex

// onUI runs f as the UI thread would: serialized with event batches.
func onUI(f func()) {
	uiMu.Lock()
	defer uiMu.Unlock()
	f()
}

const wait = 30 * time.Second

// fixtureSpec is a sidecar served by the test fixture with short timeouts.
func fixtureSpec(t testing.TB, name string, args ...string) config.Spec {
	s := config.DefaultSpec(name, testutil.FreePort(t))
	s.Binary = name
	s.Args = args
	s.StartupTimeout = 20 * time.Second
	s.StopTimeout = 3 * time.Second
	s.Restart.Policy = config.PolicyNever
	s.Liveness.Disabled = true
	return s
}

type rig struct {
	t    testing.TB
	app  fyne.App
	sup  *supervisor.Supervisor
	ui   *UI
	home string
	cfg  config.Config
	file string

	mc ModeController

	mu        sync.Mutex
	batches   int
	wake      chan struct{}
	shutdowns atomic.Int32
	watching  atomic.Int32 // Deps.Watch requests not yet cancelled
}

// rigOpts choose the optional parts of a rig.
type rigOpts struct {
	modes    bool // a real mode controller, starting in Standalone
	restarts bool // the watchdog's restart policy
	ringSize int
	tray     bool // a desktop app with a (fake) tray host
	hidden   bool // Deps.StartHidden (outrigger --hidden)
	// gatewayHTTP is the mode controller's client for the gateway check.
	gatewayHTTP *http.Client
	// log receives the supervisor's, the mode controller's and the UI's
	// logs; nil discards them.
	log io.Writer
	// persist is the mode controller's Persist (as main's saves the mode
	// to outrigger.toml); nil: not remembered.
	persist func(modes.Mode) error
}

// trayApp is the test app with a system tray that records what it is
// given.
type trayApp struct {
	fyne.App
	mu   sync.Mutex
	menu *fyne.Menu
	icon fyne.Resource
	sets int
	gone atomic.Bool // the tray's D-Bus connection was closed
}

func (a *trayApp) SetSystemTrayMenu(m *fyne.Menu) {
	a.mu.Lock()
	a.menu = m
	a.sets++
	a.mu.Unlock()
}

func (a *trayApp) SetSystemTrayIcon(r fyne.Resource) {
	if a.gone.Load() {
		panic(dbus.ErrClosed) // as systray does once Fyne closed its connection
	}
	a.mu.Lock()
	a.icon = r
	a.mu.Unlock()
}

func (a *trayApp) SetSystemTrayWindow(fyne.Window) {}

// newRig builds a real supervisor over the fixture sidecar and the UI on
// the test app, subscribed and showing its window.
func newRig(t testing.TB, o *rigOpts, specs ...config.Spec) *rig {
	if o == nil {
		o = &rigOpts{}
	}
	t.Helper()
	var names []string
	for _, s := range specs {
		names = append(names, s.Binary)
	}
	logTo := o.log
	if logTo == nil {
		logTo = io.Discard
	}
	home := t.TempDir()
	cfg := config.Config{Mode: config.ModeStandalone, Service: "", Sidecars: specs}
	if len(specs) > 0 {
		cfg.Service = specs[0].Name
	}
	paths := appdirs.Paths{Home: home, StateDir: filepath.Join(home, "state"), LogDir: filepath.Join(home, "logs"),
		DataDir: filepath.Join(home, "data")}
	opts := supervisor.Options{
		Config:   cfg,
		Paths:    paths,
		BinDirs:  []string{testutil.BinDir(t, names...)},
		Logger:   slog.New(slog.NewTextHandler(logTo, nil)),
		RingSize: o.ringSize,
	}
	if o.restarts {
		opts.Policy = watchdog.Factory
	}
	sup, err := supervisor.New(opts)
	if err != nil {
		t.Fatalf("supervisor.New: %v", err)
	}
	var mc ModeController
	cancelModes := func() {}
	modesDone := make(chan struct{})
	close(modesDone)
	if o.modes {
		ctrl := modes.New(modes.Options{Sup: sup, Service: cfg.Service, GatewayInterval: 200 * time.Millisecond,
			HTTPClient: o.gatewayHTTP, Persist: o.persist, Logger: slog.New(slog.NewTextHandler(logTo, nil))}, modes.StandaloneMode())
		ctx, cancel := context.WithCancel(context.Background())
		cancelModes = cancel
		modesDone = make(chan struct{})
		go func() { defer close(modesDone); ctrl.Run(ctx) }()
		mc = ctrl
	}
	var a fyne.App = test.NewTempApp(t)
	if o.tray {
		a = &trayApp{App: a}
		prev, prevHost := trayAvailable, newTrayHost
		trayAvailable = func() (bool, string) { return true, "" }
		// The test app records the tray through Fyne's desktop.App (the
		// D-Bus host is tried end to end, in e2e).
		newTrayHost = func(d desktop.App) trayHost { return &fyneTrayHost{desk: d} }
		t.Cleanup(func() { trayAvailable, newTrayHost = prev, prevHost })
	}
	r := &rig{t: t, app: a, sup: sup, home: home, cfg: cfg, file: filepath.Join(home, "outrigger.toml"), wake: make(chan struct{}, 1)}
	// The store is the one copy of the configuration, as in main: it holds
	// the rig's sidecars and service.
	writeSettings(t, r.file, cfg, "mode = \"standalone\"\n")
	store, err := config.Open(r.file, false)
	if err != nil {
		t.Fatalf("config.Open: %v", err)
	}
	r.ui = New(a, Deps{
		Sup:        sup,
		Modes:      mc,
		Config:     cfg,
		ConfigFile: r.file,
		Store:      store,
		LogDir:     paths.LogDir,
		Logger:     slog.New(slog.NewTextHandler(logTo, nil)),
		Watch: func() func() {
			r.watching.Add(1)
			var once sync.Once
			return func() { once.Do(func() { r.watching.Add(-1) }) }
		},
		Shutdown: func(ctx context.Context) error {
			r.shutdowns.Add(1)
			sup.DisableRestarts()
			cancelModes()
			<-modesDone
			return sup.StopAll(ctx)
		},
		StartHidden: o.hidden,
	})
	r.mc = mc
	r.ui.applied = func() {
		r.mu.Lock()
		r.batches++
		r.mu.Unlock()
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
	onUI(func() {
		r.ui.open() // as Run does
		r.ui.win.Resize(fyne.NewSize(960, 600))
	})
	t.Cleanup(func() {
		r.ui.stopListening()
		sup.DisableRestarts()
		cancelModes()
		<-modesDone
		if err := sup.Close(); err != nil {
			t.Errorf("supervisor Close: %v", err)
		}
		onUI(func() {
			if r.ui.tickTimer != nil {
				r.ui.tickTimer.Stop()
				r.ui.tickTimer = nil
			}
		})
	})
	return r
}

// writeSettings writes cfg's service and sidecars to the settings file
// path, after head.
func writeSettings(t testing.TB, path string, cfg config.Config, head string) {
	t.Helper()
	var f config.File
	if cfg.Service != "" {
		f.Service = &cfg.Service
	}
	for _, sp := range cfg.Sidecars {
		f.SetSidecar(config.FromSpec(sp, defaultSpec(sp.Name)))
	}
	data, err := config.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append([]byte(head), data...), 0o600); err != nil {
		t.Fatal(err)
	}
}

// until waits until cond (run on the UI thread) holds.
func (r *rig) until(desc string, cond func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(wait)
	for {
		var ok bool
		onUI(func() { ok = cond() })
		if ok {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("timed out waiting for %s", desc)
		}
		select {
		case <-r.wake:
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// cardState waits until the card of name shows state.
func (r *rig) cardState(name string, state supervisor.State) {
	r.t.Helper()
	r.until(name+" card to show "+string(state), func() bool {
		c := r.ui.cards[name]
		return c.st.State == state && c.pill.text.Text == lookOf(state).Word
	})
}

func timeAfter(d time.Duration) <-chan time.Time { return time.After(d) }
