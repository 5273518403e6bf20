package ui

import (
	"context"
	"fmt"
	"image/png"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"outrigger/core/appdirs"
	"outrigger/core/config"
	"outrigger/core/modes"
	"outrigger/core/supervisor"
	"outrigger/core/watchdog"
)

// runPreview runs the real app (GLFW, on the main goroutine) over the
// stand-ins in $UI_PREVIEW_BIN, as main.go wires it, and writes pictures
// of each tab into $UI_PREVIEW. For looking at the design under Xvfb:
//
//	UI_PREVIEW=/tmp/shots UI_PREVIEW_BIN=/tmp/orbin xvfb-run -a go test -run XXX ./ui
func runPreview(dir, bin string) int {
	home, err := os.MkdirTemp("", "outrigger-preview-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(home)
	cfg := config.Defaults()
	paths := appdirs.Paths{Home: home, ConfigFile: filepath.Join(home, "outrigger.toml"), StateDir: filepath.Join(home, "state"),
		LogDir: filepath.Join(home, "logs"), DataDir: filepath.Join(home, "data")}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("UI_PREVIEW_VERBOSE") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	sup, err := supervisor.New(supervisor.Options{Config: cfg, Paths: paths, BinDirs: []string{bin}, Logger: log,
		Policy: watchdog.Factory, RingSize: 100_000})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	initial, _ := modes.FromConfig(cfg)
	mc := modes.New(modes.Options{Sup: sup, Service: cfg.Service, Logger: log}, initial)
	ctx, cancel := context.WithCancel(context.Background())
	wd := watchdog.New(sup, time.Second, log)
	go wd.Run(ctx)
	go mc.Run(ctx)
	go func() { _ = mc.Apply(ctx, initial) }()

	a := app.NewWithID("dev.outrigger.preview")
	a.SetIcon(appIconRes)
	u := New(a, Deps{Sup: sup, Modes: mc, Config: cfg, ConfigFile: paths.ConfigFile, LogDir: paths.LogDir, Logger: log,
		Shutdown: func(ctx context.Context) error {
			sup.DisableRestarts()
			cancel()
			time.Sleep(700 * time.Millisecond) // let the picture of the quit dialog be taken
			return sup.StopAll(ctx)
		}})
	if idle := os.Getenv("UI_PREVIEW_IDLE"); idle != "" {
		// Measure: stay idle with the window open, profile, then quit.
		secs, _ := strconv.Atoi(idle)
		go func() {
			_ = sup.WaitReady(ctx, "xgen-workflow")
			warm, _ := strconv.Atoi(os.Getenv("UI_PREVIEW_WARMUP"))
			time.Sleep(3*time.Second + time.Duration(warm)*time.Second)
			var prof *os.File
			if p := os.Getenv("UI_PREVIEW_PROF"); p != "" {
				prof, _ = os.Create(p)
				_ = pprof.StartCPUProfile(prof)
			}
			c0 := selfTicks()
			time.Sleep(time.Duration(secs) * time.Second)
			fmt.Fprintf(os.Stderr, "idle CPU: %.2f%% of a core over %ds\n", float64(selfTicks()-c0)/float64(secs), secs)
			if prof != nil {
				pprof.StopCPUProfile()
				prof.Close()
			}
			u.Quit()
		}()
		u.Run()
		cancel()
		_ = sup.Close()
		return 0
	}
	os.Setenv(ScreenshotEnv, filepath.Join(dir, "real-overview.png"))
	go func() {
		for {
			if _, err := os.Stat(filepath.Join(dir, "real-overview.png")); err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		shotTo := func(name string, f func()) {
			fyne.DoAndWait(f)
			time.Sleep(700 * time.Millisecond)
			fyne.DoAndWait(func() {
				im := u.captureWindow()
				fh, err := os.Create(filepath.Join(dir, name))
				if err == nil {
					png.Encode(fh, im)
					fh.Close()
				}
			})
		}
		shotTo("real-logs.png", func() { u.showLogs("xgen-workflow") })
		shotTo("real-settings.png", func() { u.showSettings("xgen-embedding") })
		shotTo("real-connected.png", func() {
			u.tabs.SelectIndex(0)
			u.modeSw.choose(modes.Connected)
		})
		u.Quit()
		time.Sleep(300 * time.Millisecond)
		fyne.DoAndWait(func() {
			im := u.captureWindow()
			fh, err := os.Create(filepath.Join(dir, "real-quitting.png"))
			if err == nil {
				png.Encode(fh, im)
				fh.Close()
			}
		})
	}()
	u.Run()
	cancel()
	if err := sup.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "close:", err)
	}
	for _, st := range sup.Snapshot() {
		fmt.Fprintf(os.Stderr, "%s: %s pid %d\n", st.Name, st.State, st.PID)
	}
	return 0
}

// selfTicks is this process's utime+stime in clock ticks (1/100 s).
func selfTicks() uint64 {
	b, _ := os.ReadFile("/proc/self/stat")
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	u, _ := strconv.ParseUint(f[11], 10, 64)
	st, _ := strconv.ParseUint(f[12], 10, 64)
	return u + st
}
