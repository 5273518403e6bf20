// Package supervisor is the mechanism of Outrigger: it spawns sidecars in
// process groups, captures their output, probes their health, stops them,
// and reports every change as an event. What to do about a crash is decided
// by a RestartPolicy (core/watchdog); which sidecars should run at all is
// decided by core/modes.
//
// One goroutine per sidecar owns that sidecar's state machine; callers send
// it commands and read immutable Status snapshots, so no lock guards the
// state.
package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"outrigger/core/appdirs"
	"outrigger/core/config"
	"outrigger/core/depgraph"
	"outrigger/core/eventbus"
	"outrigger/core/logs"
	"outrigger/core/proc"
)

// Options configure a Supervisor.
type Options struct {
	Config   config.Config
	Paths    appdirs.Paths // LogDir for sidecar logs, DataDir for their data, StateDir for the state file
	BinDirs  []string      // where binaries are looked up; nil means DefaultBinDirs()
	Logger   *slog.Logger
	Policy   func(config.Spec) RestartPolicy // nil: never restart
	Guardian *proc.Guardian                  // optional: ends every sidecar if we die
	RingSize int                             // lines kept per sidecar for the UI; default 5000
	Adopt    []proc.Record                   // leftovers of an earlier run to take over (see watchdog.SweepOrphans)
	// RingBytes bounds each ring's text in bytes; default logs.DefaultMaxBytes
	// (more when RingSize asks for more than logs.DefaultCapacity lines).
	// Lines are cut to logs.MaxRingLine in the ring (whole in the file).
	RingBytes int
	// Console, when not nil, also gets every sidecar line (attributes
	// sidecar and stream; stdout at Info, stderr at Warn). Sidecar lines
	// always reach the ring and the per-sidecar file; the console is for a
	// person who asked (headless on a terminal, --verbose), since
	// formatting a record per line costs more than the rest of capture.
	// The app logger (Logger) never gets them.
	Console *slog.Logger
	// Now is the clock every time the supervisor reads comes from; nil
	// means time.Now. Backoff waits are runtime timers and every decision
	// compares times by their monotonic reading, so only displayed and
	// recorded times follow the wall clock: the clock-jump test shifts the
	// wall reading of this clock to prove it.
	Now func() time.Time
}

// Supervisor runs a set of sidecars.
type Supervisor struct {
	opts      Options
	log       *slog.Logger
	binDirs   []string
	state     *proc.StateFile
	stateW    *stateWriter // writes state, several sidecars' changes at once
	guardian  *proc.Guardian
	order     []string
	cars      map[string]*sidecar
	bus       *eventbus.Bus[Event]
	noRestart atomic.Bool
	stopAlls  atomic.Int64 // numbers the stop-alls (cmdStopMark)
	done      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
	// leftoverGrace is how long the port preflight waits for a leftover
	// of an earlier run to end on SIGTERM before SIGKILL.
	leftoverGrace time.Duration
}

// StateFileName is the state file's name inside Paths.StateDir.
const StateFileName = "sidecars.json"

// New prepares a supervisor for cfg's sidecars; nothing starts yet.
func New(opts Options) (*Supervisor, error) {
	if err := opts.Config.Validate(); err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if opts.RingSize <= 0 {
		opts.RingSize = 5000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Supervisor{
		opts:     opts,
		log:      opts.Logger,
		binDirs:  opts.BinDirs,
		guardian: opts.Guardian,
		cars:     map[string]*sidecar{},
		bus:      newBus(),
		done:     make(chan struct{}),

		leftoverGrace: 3 * time.Second,
	}
	if s.binDirs == nil {
		s.binDirs = DefaultBinDirs()
	}
	if opts.Paths.StateDir != "" {
		st, err := proc.OpenStateFile(opts.Paths.StateDir + string(os.PathSeparator) + StateFileName)
		if err != nil {
			if st == nil {
				return nil, err
			}
			s.log.Warn("state file", "err", err)
		}
		s.state = st
		s.stateW = newStateWriter(st)
	}
	for _, spec := range opts.Config.Sidecars {
		c := &sidecar{
			sup:   s,
			name:  spec.Name,
			log:   s.log.With("sidecar", spec.Name),
			ring:  logs.NewRingLimits(opts.RingSize, opts.RingBytes),
			cmds:  make(chan command),
			facts: make(chan fact, 16),
			dead:  make(chan struct{}),
			mail:  mailbox{wake: make(chan struct{}, 1)},
		}
		sp := spec
		c.spec.Store(&sp)
		if opts.Policy != nil {
			c.policy = opts.Policy(spec)
		}
		c.st = Status{Name: spec.Name, State: Stopped, Port: spec.Port, URL: spec.URL()}
		st := c.st
		c.status.Store(&st)
		ch := make(chan struct{})
		c.change.Store(&ch)
		s.order = append(s.order, spec.Name)
		s.cars[spec.Name] = c
	}
	adopt := map[string]*proc.Record{}
	for i, r := range opts.Adopt {
		adopt[r.Name] = &opts.Adopt[i]
	}
	for _, c := range s.cars {
		if rec := adopt[c.name]; rec != nil {
			c.adopt(*rec)
		}
		s.wg.Add(1)
		go func(c *sidecar) {
			defer s.wg.Done()
			c.loop()
		}(c)
	}
	events, unsubscribe := s.bus.Subscribe(nil)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.followAddresses(events, unsubscribe)
	}()
	return s, nil
}

// Names lists the sidecars in configuration order.
func (s *Supervisor) Names() []string { return append([]string(nil), s.order...) }

// Spec returns the spec a sidecar will use at its next start.
func (s *Supervisor) Spec(name string) (config.Spec, bool) {
	c, ok := s.cars[name]
	if !ok {
		return config.Spec{}, false
	}
	return c.specCopy(), true
}

// UpdateSpec replaces a sidecar's spec; it applies at its next start.
func (s *Supervisor) UpdateSpec(ctx context.Context, spec config.Spec) error {
	c, err := s.car(spec.Name)
	if err != nil {
		return err
	}
	return s.request(ctx, c, command{kind: cmdSetSpec, spec: spec})
}

// ErrSpecChanged is SwapSpec's answer when the spec is no longer the one
// it was to replace.
var ErrSpecChanged = errors.New("its settings changed meanwhile")

// SwapSpec replaces a sidecar's spec with spec only if it is still old,
// in one step of its actor: whoever puts back a spec it changed must not
// undo a change someone else made since (a settings save). Otherwise it
// returns ErrSpecChanged and changes nothing.
func (s *Supervisor) SwapSpec(ctx context.Context, old, spec config.Spec) error {
	c, err := s.car(spec.Name)
	if err != nil {
		return err
	}
	return s.request(ctx, c, command{kind: cmdSetSpec, spec: spec, ifSpec: &old})
}

// Logs returns the ring of a sidecar's recent output lines.
func (s *Supervisor) Logs(name string) *logs.Ring {
	if c, ok := s.cars[name]; ok {
		return c.ring
	}
	return nil
}

func (s *Supervisor) now() time.Time { return s.opts.Now() }

// LogDir is where sidecar log files are written.
func (s *Supervisor) LogDir() string { return s.opts.Paths.LogDir }

// Status returns one sidecar's current status.
func (s *Supervisor) Status(name string) (Status, bool) {
	c, ok := s.cars[name]
	if !ok {
		return Status{}, false
	}
	return c.status.Load().withUptime(s.now()), true
}

// Snapshot returns every sidecar's status in configuration order.
func (s *Supervisor) Snapshot() []Status {
	now := s.now()
	out := make([]Status, 0, len(s.order))
	for _, n := range s.order {
		out = append(out, s.cars[n].status.Load().withUptime(now))
	}
	return out
}

// Subscribe returns a channel of events, starting with the current status
// of every sidecar, and a function that ends the subscription. The
// supervisor never waits for a subscriber: one that falls behind receives
// the newest state of each sidecar rather than a backlog (notable events
// such as GaveUp are kept). The channel closes when the subscription or the
// supervisor ends.
func (s *Supervisor) Subscribe() (<-chan Event, func()) {
	return s.bus.SubscribeFunc(func() []Event {
		now := s.now()
		var initial []Event
		for _, st := range s.Snapshot() {
			initial = append(initial, Event{Sidecar: st.Name, Kind: EventState, Time: now, Status: st})
		}
		return initial
	})
}

// Start starts one sidecar (not its dependencies) and returns once its
// process is up; it does not wait for Ready (see WaitReady). Starting a
// running sidecar is an error. A manual Start resets a Failed sidecar.
//
// A Start that comes while a stop-all is under way wins over it: the
// sidecar, and what it depends on, are kept running if the stop-all has
// not reached them yet, and a sidecar whose stop has begun starts again
// once its process is gone.
func (s *Supervisor) Start(ctx context.Context, name string) error {
	c, err := s.car(name)
	if err != nil {
		return err
	}
	if err := s.keepDeps(ctx, name); err != nil {
		return err
	}
	return s.request(ctx, c, command{kind: cmdStart})
}

// keepDeps keeps running what name depends on (transitively) that a
// stop-all has marked but not yet stopped: it would stop under name's
// feet. What is stopped or stopping already is left to the caller (a
// StartGroup starts it).
func (s *Supervisor) keepDeps(ctx context.Context, name string) error {
	deps, err := s.graphFrom([]string{name}).Closure([]string{name})
	if err != nil {
		return err
	}
	for _, d := range deps {
		if d == name {
			continue
		}
		if err := s.request(ctx, s.cars[d], command{kind: cmdKeep}); err != nil {
			return fmt.Errorf("start %s: %w", name, err)
		}
	}
	return nil
}

// Stop stops one sidecar and waits until its whole process tree is gone.
// The watchdog never undoes a Stop.
func (s *Supervisor) Stop(ctx context.Context, name string) error {
	c, err := s.car(name)
	if err != nil {
		return err
	}
	return s.request(ctx, c, command{kind: cmdStop})
}

// Restart stops the sidecar if it runs and starts it again; the wish to
// run stays on throughout, so it never looks like a user Stop.
func (s *Supervisor) Restart(ctx context.Context, name string) error {
	c, err := s.car(name)
	if err != nil {
		return err
	}
	if err := s.keepDeps(ctx, name); err != nil {
		return err
	}
	return s.request(ctx, c, command{kind: cmdRestart})
}

// request sends a command to a sidecar's loop and waits for its reply; the
// loop answers when the work is done (for Stop: when the process tree is
// gone).
func (s *Supervisor) request(ctx context.Context, c *sidecar, cmd command) error {
	cmd.reply = make(chan error, 1)
	select {
	case c.cmds <- cmd:
	case <-ctx.Done():
		return ctx.Err()
	case <-c.dead:
		return fmt.Errorf("%s: supervisor closed", c.name)
	}
	select {
	case err := <-cmd.reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-c.dead:
		return fmt.Errorf("%s: supervisor closed", c.name)
	}
}

func (s *Supervisor) car(name string) (*sidecar, error) {
	c, ok := s.cars[name]
	if !ok {
		return nil, fmt.Errorf("no sidecar named %q", name)
	}
	return c, nil
}

// WaitReady waits until the sidecar is Ready. It fails as soon as the
// sidecar can no longer get there by itself (Failed, Exited, or Stopped by
// the user); Starting and Backoff are waited through.
func (s *Supervisor) WaitReady(ctx context.Context, name string) error {
	c, err := s.car(name)
	if err != nil {
		return err
	}
	for {
		ch := c.changed()
		st := *c.status.Load()
		switch {
		case st.State == Ready:
			return nil
		case st.State == Failed:
			return fmt.Errorf("%s failed: %s", name, st.LastError)
		case st.State == Exited:
			return fmt.Errorf("%s exited: %s", name, st.Reason)
		case st.State == Stopped && !st.Wanted:
			return fmt.Errorf("%s is stopped", name)
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("wait for %s: %w (state %s)", name, ctx.Err(), st.State)
		case <-c.dead:
			return fmt.Errorf("%s: supervisor closed", name)
		}
	}
}

// Report lets the watchdog feed what its sweep measured: CPU and memory of
// the sidecar whose process is pid.
func (s *Supervisor) ReportMetrics(name string, pid int, cpuPercent float64, rssBytes uint64) {
	if c, ok := s.cars[name]; ok {
		s.post(c, command{kind: cmdMetrics, pid: pid, cpu: cpuPercent, rss: rssBytes})
	}
}

// ReportGone lets the watchdog's sweep say a supervised pid is dead or a
// zombie (what) before the spawner's Wait reported it.
func (s *Supervisor) ReportGone(name string, pid int, what string) {
	if c, ok := s.cars[name]; ok {
		s.post(c, command{kind: cmdGone, pid: pid, what: what})
	}
}

// post leaves a report for the sidecar's loop. It never waits: a sidecar
// whose loop is busy gets the newest report of each kind when it is free,
// so one slow sidecar never holds up the sweep of the others.
func (s *Supervisor) post(c *sidecar, cmd command) { c.mail.post(cmd) }

// DisableRestarts makes every later crash final and refuses every later
// Start and Restart (ErrQuitting). Quitting calls it before stopping
// anything, so the quit path never triggers a restart, and a start asked
// meanwhile (the control API, a window button) cannot bring back a sidecar
// the quit has already stopped: it would be killed at the end, without its
// stop grace.
func (s *Supervisor) DisableRestarts() { s.noRestart.Store(true) }

// Quitting reports whether DisableRestarts was called: the quit has begun.
func (s *Supervisor) Quitting() bool { return s.noRestart.Load() }

// ErrQuitting is a Start or Restart asked once the quit has begun.
var ErrQuitting = errors.New("Outrigger is quitting")

// StartAll starts the auto-start sidecars (see StartGroup), as their
// current specs say (Follow may have changed auto_start).
func (s *Supervisor) StartAll(ctx context.Context) error {
	var names []string
	for _, n := range s.order {
		if s.cars[n].specCopy().AutoStart {
			names = append(names, n)
		}
	}
	return s.StartGroup(ctx, names)
}

// StartGroup starts names and everything they depend on, each only after
// its dependencies are Ready, and waits until all are Ready. Independent
// sidecars start together unless the config asks for sequential_start
// (one by one, gentler on a disk busy unpacking PyInstaller binaries).
// Sidecars already running are left as they are.
func (s *Supervisor) StartGroup(ctx context.Context, names []string) error {
	// One reading of the specs for the closure and every wait below: a
	// depends_on changed meanwhile (a settings save, the API) could name a
	// sidecar outside the closure, whose ready channel does not exist.
	specs := s.specs()
	deps := map[string][]string{}
	for _, sp := range specs {
		deps[sp.Name] = sp.DependsOn
	}
	order, err := config.NewGraph(specs).Closure(names)
	if err != nil {
		return err
	}
	if s.opts.Config.SequentialStart {
		var errs []error
		for _, n := range order {
			if err := s.ensureStarted(ctx, n); err != nil {
				errs = append(errs, err)
				continue
			}
			if err := s.WaitReady(ctx, n); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	}
	ready := map[string]chan error{}
	for _, n := range order {
		ready[n] = make(chan error, 1)
	}
	var wg sync.WaitGroup
	for _, n := range order {
		wg.Add(1)
		go func(n string) {
			defer wg.Done()
			ready[n] <- s.startAfterDeps(ctx, n, deps[n], ready)
		}(n)
	}
	wg.Wait()
	var errs []error
	for _, n := range order {
		if err := <-ready[n]; err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *Supervisor) startAfterDeps(ctx context.Context, n string, deps []string, ready map[string]chan error) error {
	for _, d := range deps {
		var err error
		select {
		case err = <-ready[d]:
		case <-ctx.Done():
			return fmt.Errorf("start %s: %w", n, ctx.Err())
		}
		ready[d] <- err // put it back for the other dependents
		if err != nil {
			return fmt.Errorf("start %s: dependency %s is not ready", n, d)
		}
	}
	if err := s.ensureStarted(ctx, n); err != nil {
		return err
	}
	return s.WaitReady(ctx, n)
}

// ensureStarted starts n unless it is already running and wanted (not
// waiting for a stop-all's turn) or about to restart.
func (s *Supervisor) ensureStarted(ctx context.Context, n string) error {
	st, _ := s.Status(n)
	if st.State.Running() && st.Wanted || st.State == Backoff {
		return nil
	}
	return s.Start(ctx, n)
}

// Closure returns names plus everything they depend on, each after its
// dependencies (a start order), from the specs as they are now.
func (s *Supervisor) Closure(names []string) ([]string, error) {
	return s.graphFrom(names).Closure(names)
}

// graph is the dependency graph of the current specs (UpdateSpec may have
// changed a depends_on).
func (s *Supervisor) graph() depgraph.Graph { return config.NewGraph(s.specs()) }

// graphFrom is the part of graph that names reach: all a closure of names
// needs. Each Start asks for its sidecar's closure, and building the whole
// graph for it (every spec copied) made a start of n sidecars cost n²: a
// second of CPU at 1 000. A name that is not configured is left out, for
// Closure to report.
func (s *Supervisor) graphFrom(names []string) depgraph.Graph {
	var nodes []depgraph.Node
	seen := map[string]bool{}
	todo := slices.Clone(names)
	for len(todo) > 0 {
		n := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		c, ok := s.cars[n]
		if seen[n] || !ok {
			continue
		}
		seen[n] = true
		deps := c.spec.Load().DependsOn
		nodes = append(nodes, depgraph.Node{Name: n, DependsOn: deps})
		todo = append(todo, deps...)
	}
	return depgraph.New(nodes)
}

// specs is every sidecar's spec as it is now, in config order.
func (s *Supervisor) specs() []config.Spec {
	out := make([]config.Spec, 0, len(s.order))
	for _, n := range s.order {
		out = append(out, s.cars[n].specCopy())
	}
	return out
}

// StopAll stops every sidecar: dependents before what they depend on,
// everything else in parallel, so N stubborn sidecars cost one grace period.
// One failure never keeps the others from stopping; all errors are returned.
func (s *Supervisor) StopAll(ctx context.Context) error { return s.StopAllAccepted(ctx, nil) }

// StopAllAccepted is StopAll calling accepted (unless nil) once every
// sidecar is no longer wanted, before any process is signalled: from then
// on a crash is final and no backoff restart comes, and a Start (or
// Restart) wins over the stop-all for that sidecar and what it depends on
// (see Start). So whoever answers "accepted" at that point tells the truth
// about every sidecar, also one whose stop waits for its dependents'.
func (s *Supervisor) StopAllAccepted(ctx context.Context, accepted func()) error {
	gen := int(s.stopAlls.Add(1))
	errs := make([]error, len(s.order))
	for i, n := range s.order {
		if err := s.request(ctx, s.cars[n], command{kind: cmdStopMark, gen: gen}); err != nil {
			errs[i] = fmt.Errorf("stop %s: %w", n, err)
		}
	}
	if accepted != nil {
		accepted()
	}
	stopped := map[string]chan struct{}{}
	for _, n := range s.order {
		stopped[n] = make(chan struct{})
	}
	dependents := s.graph().Dependents()
	var wg sync.WaitGroup
	for i, n := range s.order {
		wg.Add(1)
		go func(i int, n string) {
			defer wg.Done()
			defer close(stopped[n])
			for _, dep := range dependents[n] {
				select {
				case <-stopped[dep]:
				case <-ctx.Done():
				}
			}
			// Not stopped if it was started since the stop-all began.
			if err := s.request(ctx, s.cars[n], command{kind: cmdStopTurn, gen: gen}); err != nil && errs[i] == nil {
				errs[i] = fmt.Errorf("stop %s: %w", n, err)
			}
		}(i, n)
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Shutdown is the quit: it disables restarts, stops every sidecar within
// ctx (what is still running when ctx ends is killed), ends every goroutine
// the supervisor owns and returns once nothing of it is left running. Only
// the first call does the work; later calls (and Close) return its result.
func (s *Supervisor) Shutdown(ctx context.Context) error {
	s.closeOnce.Do(func() {
		s.DisableRestarts()
		s.closeErr = s.StopAll(ctx)
		close(s.done)
		s.wg.Wait()
		s.bus.Close()
	})
	return s.closeErr
}

// Close is Shutdown without a deadline.
func (s *Supervisor) Close() error { return s.Shutdown(context.Background()) }

// env builds a sidecar's environment: ours, then APP_HOST, APP_PORT,
// PYTHONUNBUFFERED=1 (Python would otherwise hold its output in a buffer),
// DATA_DIR, then the spec's env with ${url:NAME} / ${port:NAME} expanded to
// another sidecar's current address. addrs keeps those expanded entries
// (key → template and value): the run compares them later to notice that an
// address it was given has moved (see refreshAddresses).
func (s *Supervisor) env(spec config.Spec, port int) (env []string, addrs map[string]addrEntry) {
	env = make([]string, 0, len(os.Environ())+8)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, proc.GuardianEnv+"=") {
			env = append(env, kv)
		}
	}
	host := spec.Host
	if host == "" {
		host = config.DefaultHost
	}
	env = append(env,
		"APP_HOST="+host,
		"APP_PORT="+strconv.Itoa(port),
		"PYTHONUNBUFFERED=1",
		"OUTRIGGER_SIDECAR="+spec.Name,
	)
	if dir := s.opts.Paths.DataDir; dir != "" {
		env = append(env, "DATA_DIR="+dir+string(os.PathSeparator)+spec.Name)
	}
	for k, v := range spec.Env {
		x := s.expand(v)
		env = append(env, k+"="+x)
		if depgraph.HasAddressRef(v) {
			if addrs == nil {
				addrs = map[string]addrEntry{}
			}
			addrs[k] = addrEntry{template: v, value: x}
		}
	}
	return env, addrs
}

func (s *Supervisor) expand(v string) string {
	return os.Expand(v, func(key string) string {
		kind, name, ok := strings.Cut(key, ":")
		if !ok {
			return "${" + key + "}"
		}
		c, found := s.cars[name]
		if !found {
			return ""
		}
		st := c.status.Load()
		switch kind {
		case "url":
			return st.URL
		case "port":
			return strconv.Itoa(st.Port)
		}
		return "${" + key + "}"
	})
}

// choosePort checks the sidecar's port before starting. If our own process
// from an earlier run holds it, that process is ended; if someone else does,
// another free port is chosen and the reason returned for the UI. It can
// take seconds, so it runs in a goroutine of its own (see sidecar.start),
// never on a sidecar's loop.
func (s *Supervisor) choosePort(spec config.Spec) (int, string, error) {
	port := spec.Port
	if port == 0 {
		return 0, "", nil
	}
	host := spec.Host
	if host == "" {
		host = config.DefaultHost
	}
	if portFree(host, port) {
		return port, "", nil
	}
	if s.state != nil {
		// Only a record whose identity (pid + create time) was established
		// may lead to signalling anything: a pid alone may have been reused.
		if rec, ok := s.state.Get(spec.Name); ok && rec.Port == port && rec.CreateTime != 0 {
			if ended, err := proc.EndLeftover(rec, s.leftoverGrace); ended {
				s.log.Warn("ended our leftover process from an earlier run", "sidecar", spec.Name, "pid", rec.PID, "port", port)
				deadline := s.now().Add(2 * time.Second)
				for !portFree(host, port) && s.now().Before(deadline) {
					time.Sleep(20 * time.Millisecond) // the kernel frees the port on its own time
				}
				if portFree(host, port) {
					return port, fmt.Sprintf("ended leftover pid %d from an earlier run on port %d", rec.PID, port), nil
				}
			} else if err != nil {
				s.log.Warn("leftover", "sidecar", spec.Name, "err", err)
			}
		}
	}
	taken := map[int]bool{}
	for _, n := range s.order {
		if n == spec.Name {
			continue
		}
		st := s.cars[n].status.Load()
		taken[st.Port] = true
		taken[s.cars[n].specCopy().Port] = true
	}
	for p := port + 10; p < port+110 && p < 65536; p++ {
		if !taken[p] && portFree(host, p) {
			return p, fmt.Sprintf("port %d busy, using %d", port, p), nil
		}
	}
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, "", fmt.Errorf("port %d busy and no free port found: %w", port, err)
	}
	p := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return p, fmt.Sprintf("port %d busy, using %d", port, p), nil
}

func portFree(host string, port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}
