package ui

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"outrigger/core/config"
	"outrigger/core/proc"
	"outrigger/core/supervisor"
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

	mu      sync.Mutex
	batches int
	wake    chan struct{}
}

// newRig builds a real supervisor over the fixture sidecar and the UI on
// the test app, subscribed and showing its window.
func newRig(t testing.TB, mc ModeController, specs ...config.Spec) *rig {
	t.Helper()
	var names []string
	for _, s := range specs {
		names = append(names, s.Binary)
	}
	home := t.TempDir()
	cfg := config.Config{Mode: config.ModeStandalone, Service: "", Sidecars: specs}
	if len(specs) > 0 {
		cfg.Service = specs[0].Name
	}
	paths := config.Paths{Home: home, StateDir: filepath.Join(home, "state"), LogDir: filepath.Join(home, "logs"),
		DataDir: filepath.Join(home, "data")}
	sup, err := supervisor.New(supervisor.Options{
		Config:  cfg,
		Paths:   paths,
		BinDirs: []string{testutil.BinDir(t, names...)},
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatalf("supervisor.New: %v", err)
	}
	a := test.NewTempApp(t)
	r := &rig{t: t, app: a, sup: sup, home: home, cfg: cfg, file: filepath.Join(home, "outrigger.toml"), wake: make(chan struct{}, 1)}
	r.ui = New(a, Deps{
		Sup:        sup,
		Modes:      mc,
		Config:     cfg,
		ConfigFile: r.file,
		LogDir:     paths.LogDir,
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		Shutdown: func(ctx context.Context) error {
			sup.DisableRestarts()
			return sup.StopAll(ctx)
		},
	})
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
		r.ui.build()
		r.ui.start()
		r.ui.win.Show()
		r.ui.setVisible(true)
	})
	t.Cleanup(func() {
		r.ui.stopListening()
		if err := sup.Close(); err != nil {
			t.Errorf("supervisor Close: %v", err)
		}
		onUI(func() {
			if r.ui.tickStop != nil {
				close(r.ui.tickStop)
				r.ui.tickStop = nil
			}
		})
	})
	return r
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
