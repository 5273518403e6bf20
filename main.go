// Command outrigger supervises an AI product's local services ("sidecars"):
// it starts them, knows when they are ready, restarts them when they crash
// and leaves no process behind when it quits.
//
// main only wires: flags, paths, logging, the supervisor, the watchdog, the
// mode controller, and either the window or the headless loop. It owns the
// single quit path both use.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"outrigger/core/appdirs"
	"outrigger/core/config"
	"outrigger/core/control"
	"outrigger/core/diagnostics"
	"outrigger/core/gcpace"
	"outrigger/core/instance"
	"outrigger/core/logs"
	"outrigger/core/modes"
	"outrigger/core/proc"
	"outrigger/core/supervisor"
	"outrigger/core/watchdog"
	"outrigger/internal/cli"
	"outrigger/internal/workflow/wfapi"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// appLogName is Outrigger's own log file in the log folder.
const appLogName = config.ReservedName + ".log"

func main() {
	// The guardian is this same executable in a hidden mode; it must never
	// get past this line.
	proc.RunGuardianIfRequested()
	// Subcommands (outrigger status, restart, logs, ...) talk to the
	// running instance and exit; nothing of the app starts for them.
	if len(os.Args) > 1 && cli.IsCommand(os.Args[1]) {
		os.Exit(runCLI(os.Args[1:]))
	}
	os.Exit(run())
}

func runCLI(args []string) int {
	paths, err := appdirs.Resolve("")
	if err != nil {
		fmt.Fprintln(os.Stderr, "outrigger:", err)
		return cli.ExitFailed
	}
	return cli.Run(cli.Env{Addr: instance.Address(paths.RuntimeDir), Stdout: os.Stdout, Stderr: os.Stderr,
		ConfigFile: paths.ConfigFile, LogDir: paths.LogDir, AppLog: filepath.Join(paths.LogDir, appLogName), Version: version}, args)
}

type flags struct {
	headless bool
	hidden   bool
	config   string
	version  bool
	verbose  bool
}

func parseFlags() flags {
	var f flags
	flag.BoolVar(&f.headless, "headless", false, "no window: supervise, log to the console, stop all on SIGINT/SIGTERM")
	flag.BoolVar(&f.hidden, "hidden", false, "start in the system tray with the window hidden (how the login entry starts it); without a tray the window shows")
	flag.StringVar(&f.config, "config", "", "use `FILE` instead of the user's outrigger.toml")
	flag.BoolVar(&f.version, "version", false, "print the version and exit")
	flag.BoolVar(&f.verbose, "verbose", false, "log debug messages")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: outrigger [flags]   (or: outrigger COMMAND; see outrigger help)")
		flag.PrintDefaults()
	}
	flag.Parse()
	return f
}

func run() int {
	f := parseFlags()
	f.headless = f.headless || !hasWindow
	if f.version {
		fmt.Println("outrigger", version)
		return 0
	}
	paths, err := appdirs.Resolve(f.config)
	if err == nil {
		err = paths.Ensure()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "outrigger:", err)
		return 1
	}
	level := slog.LevelInfo
	if f.verbose {
		level = slog.LevelDebug
	}
	log, logCloser, err := logs.NewLogger(os.Stderr, filepath.Join(paths.LogDir, appLogName), level)
	if err != nil {
		fmt.Fprintln(os.Stderr, "outrigger:", err)
		return 1
	}
	defer logCloser.Close()
	slog.SetDefault(log)
	// Sidecar lines are in each sidecar's log file and the window; the
	// console repeats them only for a person watching it.
	var console *slog.Logger
	if f.verbose || f.headless && logs.IsTerminal(os.Stderr) {
		console, _, _ = logs.NewLogger(os.Stderr, "", level)
	}

	// One instance per user: a second launch brings the first one's window
	// to the front and exits, so two supervisors never fight over ports.
	var front relay
	inst, code, handed := becomePrimary(paths.RuntimeDir, log)
	if handed {
		return code
	}
	if inst != nil {
		defer inst.Close()
	}

	store, err := openConfig(paths.ConfigFile, f.config != "", log)
	if err != nil {
		log.Error("cannot load configuration", "err", err)
		return 1
	}

	app, err := start(store, paths, log, console)
	if err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	if inst != nil {
		api := app.serveAPI(inst, &front)
		defer api.Close()
	}
	if f.headless {
		return app.headless()
	}
	return app.gui(&front, f.hidden)
}

// openConfig opens outrigger.toml. A file the user named with --config
// must be right; the everyday settings file, when corrupt, is set aside
// (never deleted) and the defaults are used, so a double-click still
// brings the services up.
func openConfig(path string, explicit bool, log *slog.Logger) (*config.Store, error) {
	store, err := config.Open(path, !explicit)
	var ce *config.CorruptError
	switch {
	case errors.As(err, &ce):
		log.Error("configuration is invalid; using the defaults", "err", ce.Err, "kept_as", ce.MovedTo)
	case err != nil && store != nil:
		log.Error("cannot read the configuration; using the defaults", "err", err)
	default:
		return store, err
	}
	return store, nil
}

// outrigger is the running app: everything start made, and the one quit
// path that ends it.
type outrigger struct {
	store    *config.Store // the one copy of the configuration; the supervisor follows it
	paths    appdirs.Paths
	log      *slog.Logger
	guardian *proc.Guardian
	sup      *supervisor.Supervisor
	unfollow func() // ends the supervisor's following of store
	modes    *modes.Controller
	// wd sweeps CPU and memory; Watch it while someone looks at them (the
	// window while visible, an API client subscribed to status).
	wd       *watchdog.Watchdog
	cancel   context.CancelFunc
	bg       sync.WaitGroup // the watchdog, the mode controller, the initial mode
	quitOnce sync.Once
	quitErr  error
	quitReq  chan struct{} // the control API's quit: the headless loop or the window takes the quit path
}

// relay forwards a second launch's "show" request to the window once there
// is one (the request can arrive before the UI exists, or with none).
type relay struct {
	mu sync.Mutex
	fn func()
}

func (r *relay) set(fn func()) { r.mu.Lock(); r.fn = fn; r.mu.Unlock() }

func (r *relay) call() bool {
	r.mu.Lock()
	fn := r.fn
	r.mu.Unlock()
	if fn != nil {
		fn()
	}
	return fn != nil
}

// serveAPI serves the control API on the instance's endpoint and, when
// [api] listen is set, on its TCP port. A TCP address the API refuses
// (not loopback without allow_remote) is logged and the rest runs.
func (o *outrigger) serveAPI(inst *instance.Instance, front *relay) *control.Server {
	api := control.New(control.Deps{
		Sup:     o.sup,
		Modes:   o.modes,
		Version: version,
		Quit: func() {
			select {
			case o.quitReq <- struct{}{}:
			default:
			}
		},
		Show:   front.call,
		Logger: o.log,
		Watch:  func() func() { return o.wd.Watch(0) },
		Diagnostics: func() diagnostics.Options {
			return diagnostics.Options{Config: o.store.Config(), LogDir: o.paths.LogDir,
				AppLog: filepath.Join(o.paths.LogDir, appLogName), Versions: diagnostics.Versions{App: version}}
		},
	})
	go func() {
		if err := api.Serve(inst.Listener()); err != nil {
			o.log.Error("control API", "err", err)
		}
	}()
	if cfg := o.store.Config(); cfg.API.Listen != "" {
		addr, err := api.ListenTCP(cfg.API, o.paths.ConfigFile)
		if err != nil {
			o.log.Error("control API: not listening on TCP", "err", err)
		} else {
			o.log.Info("control API listening", "addr", addr.String(), "token_file", control.TokenPath(o.paths.ConfigFile))
		}
	}
	return api
}

func start(store *config.Store, paths appdirs.Paths, log, console *slog.Logger) (*outrigger, error) {
	cfg := store.Config()
	// Leftovers of a run that was killed go first, so the sidecars get
	// their own ports back.
	stateFile := filepath.Join(paths.StateDir, supervisor.StateFileName)
	adopt := map[string]bool{}
	for _, s := range cfg.Sidecars {
		adopt[s.Name] = s.Adopt
	}
	_, adopted, err := watchdog.SweepOrphans(stateFile, 3*time.Second, adopt, log)
	if err != nil {
		log.Warn("orphan sweep", "err", err)
	}
	o := &outrigger{store: store, paths: paths, log: log, quitReq: make(chan struct{}, 1)}
	if exe, err := os.Executable(); err == nil {
		g, err := proc.StartGuardian(exe)
		if err != nil {
			log.Warn("no guardian: sidecars may outlive a crash of this app", "err", err)
		} else {
			o.guardian = g
		}
	}
	sup, err := supervisor.New(supervisor.Options{
		Config:   cfg,
		Paths:    paths,
		Logger:   log,
		Policy:   watchdog.Factory,
		Guardian: o.guardian,
		Adopt:    adopted,
		Console:  console,
	})
	if err != nil {
		o.guardian.Close()
		return nil, err
	}
	o.sup = sup
	o.unfollow = sup.Follow(store)
	initial, err := modes.FromConfig(cfg)
	if err != nil {
		log.Error("remembered mode is invalid; using service mode", "err", err)
		initial, _ = modes.FromConfig(config.Defaults())
	}
	o.modes = modes.New(modes.Options{
		Sup:     sup,
		Service: cfg.Service,
		Persist: modes.Remember(store),
		Logger:  log,
		// The gateway's /health with the token the Workflows tab sends.
		Authorize: func(req *http.Request) error {
			token, _ := wfapi.GatewayCredential(store.Config().GatewayToken, os.Getenv)
			return wfapi.Authorize(req, token)
		},
	}, initial)

	ctx, cancel := context.WithCancel(context.Background())
	o.cancel = cancel
	o.wd = watchdog.New(sup, time.Second, log)
	// Nobody looking (the window hidden, no API client subscribed): the
	// collector runs by need, not every two minutes (core/gcpace).
	o.wd.OnWatched(func(watched bool) { gcpace.SetIdle(!watched) })
	o.bg.Add(3)
	go func() { defer o.bg.Done(); o.wd.Run(ctx) }()
	go func() { defer o.bg.Done(); o.modes.Run(ctx) }()
	go func() {
		defer o.bg.Done()
		log.Info("starting", "version", version, "mode", initial.String(), "config", paths.ConfigFile)
		if err := o.modes.Apply(ctx, initial); err != nil && ctx.Err() == nil {
			log.Error("bringing up the remembered mode", "err", err)
		}
	}()
	return o, nil
}

// shutdown is the one quit path, shared by the window, the tray, and
// SIGINT/SIGTERM: restarts are disabled before anything stops, every
// sidecar is stopped in parallel, the background goroutines end, and the
// guardian is released. It runs once; later calls return the first result.
func (o *outrigger) shutdown(ctx context.Context) error {
	o.quitOnce.Do(func() {
		o.log.Info("quitting: stopping every sidecar")
		o.sup.DisableRestarts()
		o.cancel()
		o.bg.Wait()
		o.unfollow()
		err := o.sup.Shutdown(ctx) // stops every sidecar once, then ends the supervisor
		if gerr := o.guardian.Close(); gerr != nil && !errors.Is(gerr, os.ErrClosed) {
			o.log.Debug("guardian", "err", gerr)
		}
		o.quitErr = err
		o.log.Info("stopped", "err", err)
	})
	return o.quitErr
}

// headless supervises until SIGINT or SIGTERM.
func (o *outrigger) headless() int {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)
	select {
	case s := <-sig:
		o.log.Info("signal received", "signal", s.String())
	case <-o.quitReq:
		o.log.Info("quit requested through the control API")
	}
	if err := o.shutdown(context.Background()); err != nil {
		o.log.Error("shutdown", "err", err)
		return 1
	}
	return 0
}
