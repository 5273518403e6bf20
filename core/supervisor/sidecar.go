package supervisor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"outrigger/core/config"
	"outrigger/core/health"
	"outrigger/core/logs"
	"outrigger/core/proc"
)

// sidecar owns one sidecar's state machine. Exactly one goroutine (loop)
// reads and writes its fields; everyone else talks to it through cmds and
// facts and reads the published Status.
type sidecar struct {
	sup    *Supervisor
	name   string
	log    *slog.Logger
	ring   *logs.Ring
	cmds   chan command
	facts  chan fact
	dead   chan struct{} // closed when loop has returned: senders stop waiting
	mail   mailbox       // the sweep's reports: latest wins, never blocks
	status atomic.Pointer[Status]
	change atomic.Pointer[chan struct{}] // closed and replaced on every publish
	spec   atomic.Pointer[config.Spec]   // written only by loop; applies at the next start

	// Owned by loop.
	policy    RestartPolicy
	st        Status
	run       *run
	runID     int
	out       *logs.SidecarLog
	backoff   *time.Timer
	waiters   []chan error // Stop callers waiting for the process to end
	launching []chan error // Start/Restart callers waiting for the process to be up
	pre       *preflight   // the start whose port preflight runs; nil when none
	preID     int          // numbers preflights, so a late fact of an abandoned one is ignored
	troubled  bool         // crashed or unhealthy since it was last Ready
	liveFails int
	// stopAll is the stop-all (its number) that has made this sidecar not
	// wanted and will stop its process when its dependents have stopped;
	// 0 when none. A Start meanwhile clears it: the stop never comes.
	stopAll int
	// startAfterStop: a Start came while a stop of ours was under way; the
	// sidecar starts again once that stop is over (the later word wins).
	startAfterStop bool
}

// ending says why a run is being ended by us.
type ending int

const (
	endNone           ending = iota
	endUser                  // Stop: go to Stopped
	endRestart               // Restart: start again at once
	endUnhealthy             // liveness failed: a crash for the policy
	endStartupTimeout        // never became Ready in time: Failed
)

// run is one process of a sidecar, from spawn to reap.
type run struct {
	id        int
	cmd       *exec.Cmd
	tree      *proc.Tree
	readers   []io.ReadCloser
	ctx       context.Context // ends the probes of this run
	cancel    context.CancelFunc
	probing   sync.WaitGroup // the probes of this run, until they have closed their connections
	ending    ending
	exit      *Exit
	logsOpen  int
	killTimer *time.Timer
	forceLogs *time.Timer
	// killed: no grace is running any more (the tree was SIGKILLed at the
	// end of stop_timeout, or ended at once): the output readers may be
	// forced closed (factForceLogs) without cutting a drain short.
	killed    bool
	startedAt time.Time
	readyAt   time.Time
	url       string
	healthURL string        // first path that answered, for liveness
	kick      chan struct{} // output arrived: probe readiness now
	adopted   bool          // a process of an earlier run: no Wait, no output; the sweep watches it
	linger    time.Duration // next look for lingering processes (backs off: each look scans /proc)

	// The env entries naming another sidecar's address, as this run got them.
	addrs map[string]addrEntry
}

type cmdKind int

const (
	cmdStart cmdKind = iota
	cmdStop
	cmdRestart
	cmdSetSpec
	cmdMetrics
	cmdGone
	cmdAddresses // an address may have moved: restart if this run's env names an old one
	cmdNote      // set or clear the removed-from-file note (see Follow)
	cmdStopMark  // a stop-all begins: not wanted from now on, stopped in its turn
	cmdStopTurn  // a stop-all's turn for this sidecar: stop it unless started since
	cmdKeep      // a dependent starts: keep running if a stop-all has not reached it yet
	cmdKinds     // how many kinds there are
)

type command struct {
	kind   cmdKind
	reply  chan error
	spec   config.Spec
	ifSpec *config.Spec // cmdSetSpec: only if the spec is still this one (SwapSpec)
	pid    int
	cpu    float64
	rss    uint64
	what   string
	gen    int // cmdStopMark, cmdStopTurn: which stop-all
}

type factKind int

const (
	factExit factKind = iota
	factLogsDone
	factReady
	factLive
	factStartupTimeout
	factKillTimeout
	factForceLogs
	factBackoffDone
	factPreflight
	factLinger // look again whether the run's lingering processes are gone
)

type fact struct {
	kind   factKind
	run    int
	exit   Exit
	ok     bool
	path   string
	err    error
	port   int    // factPreflight
	reason string // factPreflight
}

// preflight is a start waiting for its port check: what may take long (a
// leftover of an earlier run that ignores SIGTERM takes the whole grace
// period to end) runs in a goroutine, and the run is spawned when its
// factPreflight arrives, so the loop answers everyone meanwhile.
type preflight struct {
	id   int
	spec config.Spec
	path string
}

// mailbox carries the reports that need no reply (the sweep's metrics and
// "gone", the address follower's "check your addresses") to the loop
// without ever making the sender wait: each post replaces the pending one
// of its kind and wakes the loop through a one-slot channel, so one busy
// sidecar never holds up the sweep of the others.
type mailbox struct {
	mu      sync.Mutex
	pending [cmdKinds]*command // by kind; only the newest of each counts
	wake    chan struct{}      // cap 1
}

func (m *mailbox) post(c command) {
	m.mu.Lock()
	m.pending[c.kind] = &c
	m.mu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default: // already awake: it will read the newest
	}
}

// take returns the pending reports, "gone" first.
func (m *mailbox) take() []command {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []command
	for _, k := range []cmdKind{cmdGone, cmdAddresses, cmdMetrics} {
		if c := m.pending[k]; c != nil {
			out = append(out, *c)
			m.pending[k] = nil
		}
	}
	return out
}

func (s *sidecar) send(f fact) {
	select {
	case s.facts <- f:
	case <-s.dead:
	}
}

// sendWhile is send for a run's probes: once the run is over (ctx ended)
// nobody needs the fact, and the loop may be waiting for the probe to end
// (run.probing), so it gives up rather than wait for room.
func (s *sidecar) sendWhile(ctx context.Context, f fact) {
	select {
	case s.facts <- f:
	case <-s.dead:
	case <-ctx.Done():
	}
}

func (s *sidecar) after(d time.Duration, f fact) *time.Timer {
	return time.AfterFunc(d, func() { s.send(f) })
}

// publish stores a fresh Status snapshot and sends an event.
func (s *sidecar) publish(kind EventKind, mod func(*Event)) {
	now := s.sup.now()
	st := s.st.withUptime(now)
	s.status.Store(&st)
	ch := make(chan struct{})
	if old := s.change.Swap(&ch); old != nil {
		close(*old)
	}
	e := Event{Sidecar: s.name, Kind: kind, Time: now, Status: st}
	if mod != nil {
		mod(&e)
	}
	s.sup.bus.Publish(e)
}

func (s *sidecar) specCopy() config.Spec { return *s.spec.Load() }

func (s *sidecar) changed() <-chan struct{} { return *s.change.Load() }

func (s *sidecar) loop() {
	defer close(s.dead)
	defer s.shutdown()
	for {
		select {
		case c := <-s.cmds:
			s.handle(c)
		case f := <-s.facts:
			s.handleFact(f)
		case <-s.mail.wake:
			for _, c := range s.mail.take() {
				s.handle(c)
			}
		case <-s.sup.done:
			return
		}
	}
}

func (s *sidecar) handle(c command) {
	switch c.kind {
	case cmdStart:
		if err := s.userStart(); errors.Is(err, errUp) {
			c.reply <- nil
		} else if err != nil {
			c.reply <- err
		} else {
			s.launching = append(s.launching, c.reply)
		}
	case cmdStop:
		s.userStop(c.reply)
	case cmdRestart:
		s.userRestart(c.reply)
	case cmdSetSpec:
		if c.ifSpec != nil && !reflect.DeepEqual(*s.spec.Load(), *c.ifSpec) {
			c.reply <- ErrSpecChanged
			return
		}
		sp := c.spec
		s.spec.Store(&sp)
		if s.sup.opts.Policy != nil {
			s.policy = s.sup.opts.Policy(c.spec)
		}
		c.reply <- nil
	case cmdMetrics:
		if s.run != nil && s.run.tree.PID == c.pid && (s.st.CPUPercent != c.cpu || s.st.RSSBytes != c.rss) {
			s.st.CPUPercent, s.st.RSSBytes = c.cpu, c.rss
			s.publish(EventMetrics, nil)
		}
	case cmdAddresses:
		s.refreshAddresses()
	case cmdNote:
		c.reply <- s.note(c.what)
	case cmdStopMark:
		s.markStop(c.gen, c.reply)
	case cmdKeep:
		// Never once the quit has begun: its stop-all must stop it in turn.
		if s.stopAll != 0 && s.run != nil && s.run.ending == endNone && !s.sup.noRestart.Load() {
			s.stopAll = 0
			s.st.Wanted = true
			s.publish(EventState, nil)
		}
		c.reply <- nil
	case cmdStopTurn:
		if s.stopAll != c.gen {
			c.reply <- nil // started since the stop-all began: it stays
			return
		}
		s.userStop(c.reply)
	case cmdGone:
		// The sweep saw our process dead or a zombie before Wait said so.
		// Wait is still the one that reports the exit; make sure it can.
		if s.run != nil && s.run.tree.PID == c.pid && s.run.exit == nil {
			if s.run.adopted {
				// Not our child: the sweep is the only one who can tell.
				s.handleFact(fact{kind: factExit, run: s.run.id, exit: Exit{Code: -1, Signal: c.what, At: s.sup.now()}})
				return
			}
			if s.run.ending != endNone {
				// A stop's grace: the leader may be gone while the server
				// it started drains (as factExit and factForceLogs allow);
				// Wait reports the exit, and the stop's kill timer ends
				// what is left when stop_timeout is up.
				return
			}
			s.log.Warn("watchdog: process is "+c.what+" before its exit was reported; ending its group", "pid", c.pid)
			_ = s.run.tree.Kill()
		}
	}
}

// errUp is userStart's answer when the process it asks for already runs.
var errUp = errors.New("already up")

// userStart answers nil when the start is under way (the caller is then
// told in s.launching when the process is up), errUp when the process is
// up already, or why it cannot start.
func (s *sidecar) userStart() error {
	if s.sup.noRestart.Load() {
		return fmt.Errorf("start %s: %w", s.name, ErrQuitting)
	}
	if s.stopAll != 0 && s.run != nil && s.run.ending == endNone {
		// A stop-all has made it not wanted but not reached it yet (its
		// dependents stop first): the later Start wins, and the process
		// that runs is the one wanted.
		s.stopAll = 0
		s.st.Wanted = true
		s.publish(EventState, nil)
		return errUp
	}
	if s.run != nil && s.run.ending == endUser {
		// A stop under way (a Stop, or a stop-all's turn): it is not
		// undone (its grace runs on), and the sidecar starts again once
		// its process is gone: the later word wins, rather than the Start
		// being refused and the sidecar left stopped.
		s.stopAll = 0
		s.startAfterStop = true
		if s.policy != nil {
			s.policy.Reset()
		}
		s.st.Restarts, s.st.Attempt, s.st.LastError = 0, 0, ""
		s.st.Wanted = true
		s.publish(EventState, nil)
		return nil
	}
	if s.st.State.HasProcess() {
		if s.st.State == Stopping {
			return fmt.Errorf("start %s: it is stopping", s.name)
		}
		return fmt.Errorf("start %s: already %s (pid %d)", s.name, s.st.State, s.st.PID)
	}
	// A manual start forgets the crash history, also after giving up.
	if s.policy != nil {
		s.policy.Reset()
	}
	s.st.Restarts, s.st.Attempt, s.st.LastError = 0, 0, ""
	s.st.Wanted = true
	s.stopAll = 0
	return s.start()
}

func (s *sidecar) userStop(reply chan error) {
	s.st.Wanted = false
	if s.startAfterStop {
		s.startAfterStop = false
		s.replyLaunching(fmt.Errorf("start %s: stopped before it was up", s.name))
	}
	s.cancelBackoff()
	if s.run == nil {
		if s.st.State == Backoff || s.st.State == Starting {
			s.pre = nil // a preflight still running is forgotten
			s.st.State, s.st.Reason = Stopped, "stopped by user"
			s.st.NextRestartAt = nil
			s.publish(EventState, nil)
			s.replyLaunching(fmt.Errorf("start %s: stopped before it was up", s.name))
		}
		reply <- nil
		return
	}
	s.waiters = append(s.waiters, reply)
	s.end(endUser, "stopped by user")
}

// markStop is a stop-all's first step for this sidecar: from now on it is
// not wanted (a crash is final, a backoff restart never comes). Without a
// process it is stopped at once; a process is left running until the
// stop-all's turn for it (cmdStopTurn), after its dependents have stopped.
func (s *sidecar) markStop(gen int, reply chan error) {
	if s.run == nil {
		s.userStop(reply)
		return
	}
	if s.startAfterStop {
		s.startAfterStop = false
		s.replyLaunching(fmt.Errorf("start %s: stopped before it was up", s.name))
	}
	s.cancelBackoff()
	// Also when it is stopping already: the stop-all's turn for it then
	// waits for that stop, so what it depends on still stops after it.
	s.stopAll = gen
	if s.st.Wanted {
		s.st.Wanted = false
		s.publish(EventState, nil)
	}
	reply <- nil
}

func (s *sidecar) userRestart(reply chan error) {
	if s.sup.noRestart.Load() {
		reply <- fmt.Errorf("restart %s: %w", s.name, ErrQuitting)
		return
	}
	// A Stop under way ends in Stopped, and a Restart that joined it
	// would be answered nil with nothing started (and leave Wanted set on
	// a stopped sidecar, so WaitReady never returned). (A Start waits for
	// the stop and starts after it: startAfterStop.)
	if s.run != nil && s.run.ending == endUser {
		reply <- fmt.Errorf("restart %s: it is stopping", s.name)
		return
	}
	s.stopAll = 0 // asked after a stop-all began: it wins over it
	s.st.Wanted = true
	if s.policy != nil {
		s.policy.Reset()
	}
	s.st.Restarts, s.st.Attempt, s.st.LastError = 0, 0, ""
	if s.run == nil {
		s.cancelBackoff()
		if err := s.start(); err != nil {
			reply <- err
		} else {
			s.launching = append(s.launching, reply)
		}
		return
	}
	s.waiters = append(s.waiters, reply)
	s.end(endRestart, "restart requested")
}

// start begins a new run; it is used for manual starts and restarts. The
// port preflight runs in a goroutine (see preflight) and launch goes on
// when its fact arrives; nil means the start is under way, and callers that
// wait for the process add themselves to s.launching.
func (s *sidecar) start() error {
	s.cancelBackoff()
	spec := s.specCopy()
	s.st.NextRestartAt = nil
	path, err := Resolve(spec.BinaryName(), s.sup.binDirs)
	if err != nil {
		return s.fail(err)
	}
	s.preID++
	p := &preflight{id: s.preID, spec: spec, path: path}
	s.pre = p
	if s.st.State != Starting {
		s.st.State = Starting
		s.st.PID, s.st.PGID, s.st.Cgroup, s.st.CreateTime, s.st.StartedAt, s.st.ReadyAt = 0, 0, "", 0, nil, nil
		s.publish(EventState, nil)
	}
	s.sup.wg.Add(1) // Close waits for it: it may be ending a leftover
	go func() {
		defer s.sup.wg.Done()
		port, reason, err := s.sup.choosePort(p.spec)
		s.send(fact{kind: factPreflight, run: p.id, port: port, reason: reason, err: err})
	}()
	return nil
}

// fail ends a start that could not spawn: Failed, with the reason.
func (s *sidecar) fail(err error) error {
	s.st.State = Failed
	s.st.Wanted = false
	s.st.LastError = err.Error()
	s.st.Reason = err.Error()
	s.st.PID, s.st.PGID, s.st.Cgroup, s.st.CreateTime, s.st.StartedAt, s.st.ReadyAt = 0, 0, "", 0, nil, nil
	s.log.Error("start failed", "err", err)
	s.publish(EventState, nil)
	err = fmt.Errorf("start %s: %w", s.name, err)
	s.replyLaunching(err)
	return err
}

func (s *sidecar) replyLaunching(err error) {
	for _, w := range s.launching {
		w <- err
	}
	s.launching = nil
}

// launch spawns the run once its port is known.
func (s *sidecar) launch(p *preflight, port int, reason string) {
	spec, path := p.spec, p.path
	if s.out == nil {
		out, err := logs.OpenSidecarLog(s.sup.opts.Paths.LogDir, s.name, s.ring, s.sup.opts.Console)
		if err != nil {
			s.fail(fmt.Errorf("open log: %w", err))
			return
		}
		out.WarnOnFileErrors(s.log) // a full disk: warn once, the sidecar keeps running
		s.out = out
		s.st.LogFile = out.Path()
	}
	at := spec
	at.Port = port
	url := at.URL() // loopback when the sidecar binds every interface
	r, err := s.spawn(spec, path, port)
	if err != nil {
		s.fail(err)
		return
	}
	r.url = url
	s.run = r
	now := s.sup.now()
	s.st.State = Starting
	s.st.Binary = path
	s.st.Port, s.st.URL = port, url
	s.st.PID, s.st.PGID, s.st.Cgroup = r.tree.PID, r.tree.PGID, proc.TreeCgroup(r.tree)
	s.st.StartedAt, s.st.ReadyAt = &now, nil
	s.st.HealthOK, s.st.HealthPath = false, ""
	s.st.CPUPercent, s.st.RSSBytes = 0, 0
	s.st.Reason = reason
	if reason != "" {
		s.log.Warn(reason)
	}
	ct, err := proc.CreateTime(r.tree.PID)
	if err == nil {
		s.st.CreateTime = ct
	} else {
		// Recorded as 0: a later sweep or preflight never touches a
		// process whose identity it cannot establish.
		s.log.Warn("cannot read the process's create time", "err", err)
	}
	if err := s.sup.guardian.Watch(r.tree, ct); err != nil && s.sup.guardian != nil { // now with its identity
		s.log.Warn("guardian: cannot watch", "err", err)
	}
	recorded := make(chan struct{}) // closed once the run's record is on disk (or failed to be)
	if s.sup.stateW != nil {
		// The record is written while the run starts; Ready waits for
		// it (probeReady), so a Ready run is always in the file.
		wait := s.sup.stateW.put(proc.Record{Name: s.name, PID: r.tree.PID, PGID: r.tree.PGID,
			CreateTime: ct, Port: port, StartedAt: now, Token: proc.TreeToken(r.tree), Cgroup: proc.TreeCgroup(r.tree)})
		s.sup.wg.Add(1) // Close waits for the record to be on disk
		go func() {
			defer s.sup.wg.Done()
			defer close(recorded)
			if err := wait(); err != nil {
				s.log.Warn("state file", "err", err)
			}
		}()
	} else {
		close(recorded)
	}
	s.log.Info("started", "pid", r.tree.PID, "port", port, "binary", path)
	s.publish(EventState, nil)

	r.ctx, r.cancel = context.WithCancel(context.Background())
	r.probing.Go(func() { s.probeReady(r.ctx, r.id, url, spec.Health, r.kick, recorded) })
	if spec.StartupTimeout > 0 {
		r.killTimer = s.after(spec.StartupTimeout, fact{kind: factStartupTimeout, run: r.id})
	}
	s.replyLaunching(nil)
}

// spawn starts the process from the app's one spawner thread (proc.Start:
// Linux's parent-death signal fires when the forking *thread* exits,
// golang/go#27505, and that thread lives as long as the app) and waits for
// its exit in the poller (proc.AwaitExit), so a sidecar costs no OS thread.
func (s *sidecar) spawn(spec config.Spec, path string, port int) (*run, error) {
	s.runID++
	r := &run{id: s.runID, startedAt: s.sup.now(), kick: make(chan struct{}, 1)}
	cmd := exec.Command(path, spec.Args...)
	cmd.Env, r.addrs = s.sup.env(spec, port)
	if dir := s.sup.opts.Paths.DataDir; dir != "" {
		wd := dir + string(os.PathSeparator) + s.name
		if err := os.MkdirAll(wd, 0o700); err == nil {
			cmd.Dir = wd
		}
	}
	// Our own pipes, not cmd.StdoutPipe: exec then copies nothing, so a
	// grandchild holding the write end can never hang Wait, and we keep
	// reading its output until the whole group is gone.
	outR, outW, err := logs.Pipe()
	if err != nil {
		return nil, err
	}
	errR, errW, err := logs.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	cmd.WaitDelay = 2 * time.Second // belt and braces: bounds Wait should exec ever own a copier
	proc.Prepare(cmd)

	err = proc.Start(cmd)
	if err == nil {
		go func() {
			proc.AwaitExit(cmd.Process.Pid)
			_ = cmd.Wait()
			s.send(fact{kind: factExit, run: r.id, exit: exitOf(cmd.ProcessState, s.sup.now())})
		}()
	}
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return nil, fmt.Errorf("spawn %s: %w", path, err)
	}
	tree, err := proc.Attach(cmd)
	if err != nil {
		// Without its job/group we could not stop it reliably: end it now.
		_ = cmd.Process.Kill()
		s.log.Error("attach failed", "err", err)
		tree = &proc.Tree{PID: cmd.Process.Pid, PGID: cmd.Process.Pid}
	}
	// Tell the guardian before anything else: until it knows the group, an
	// app killed now would leave the tree behind. The create time, which
	// takes a moment to read, follows in start.
	if err := s.sup.guardian.Watch(tree, 0); err != nil && s.sup.guardian != nil {
		s.log.Warn("guardian: cannot watch", "err", err)
	}
	r.cmd, r.tree = cmd, tree
	r.readers = []io.ReadCloser{outR, errR}
	r.logsOpen = 2
	for i, rd := range r.readers {
		stream := logs.Stdout
		if i == 1 {
			stream = logs.Stderr
		}
		go func(rd io.ReadCloser, stream logs.Stream) {
			_ = s.out.Capture(rd, stream, func() {
				select {
				case r.kick <- struct{}{}:
				default:
				}
			})
			s.send(fact{kind: factLogsDone, run: r.id})
		}(rd, stream)
	}
	return r, nil
}

// probeReady probes quickly at first, backing off to about a second, and
// reports the first healthy answer; the startup timer bounds it. Servers
// usually print a line when they start listening (uvicorn's "Uvicorn running
// on ..."), so every output line while starting also triggers a probe:
// readiness is then seen within a millisecond or two instead of at the next
// tick of the schedule. Kicked probes are throttled by a gap that starts at
// kickGapMin and doubles with each kicked probe that fails, up to
// kickGapMax: a server that prints a few lines just before it binds (uvicorn
// prints its startup lines, then binds) is probed again a millisecond later,
// while a sidecar flooding output as it starts costs at most one refused
// connection per kickGapMax.
//
// A healthy answer is reported once recorded is closed: the run's record
// is then on disk, so the orphan sweep of a later launch knows every run
// that was ever Ready.
func (s *sidecar) probeReady(ctx context.Context, id int, url string, paths []string, kick, recorded <-chan struct{}) {
	const (
		kickGapMin = time.Millisecond
		kickGapMax = 15 * time.Millisecond
	)
	probes := health.NewProbes(url, paths)
	defer probes.Close()
	sched := health.ReadinessSchedule()
	tick := time.NewTimer(sched.Next())
	defer tick.Stop()
	var (
		last time.Time
		gap  = kickGapMin
		wait *time.Timer // reused for the gap, so a flood allocates no timers
	)
	defer func() {
		if wait != nil {
			wait.Stop()
		}
	}()
	for {
		kicked := false
		select {
		case <-tick.C:
			tick.Reset(sched.Next())
		case <-kick:
			kicked = true
			if d := last.Add(gap).Sub(s.sup.now()); d > 0 {
				if wait == nil {
					wait = time.NewTimer(d)
				} else {
					wait.Reset(d)
				}
				select {
				case <-wait.C:
				case <-ctx.Done():
					return
				}
			}
		case <-ctx.Done():
			return
		}
		last = s.sup.now()
		r := probes.Check(ctx, 2*time.Second)
		if r.OK {
			select {
			case <-recorded:
			case <-ctx.Done():
				return
			}
			s.sendWhile(ctx, fact{kind: factReady, run: id, path: r.Path})
			return
		}
		if ctx.Err() != nil {
			return
		}
		if kicked {
			gap = min(2*gap, kickGapMax)
		}
	}
}

// probeLive checks the path that answered readiness every period, over one
// kept connection (health.Prober: no HTTP transport goroutines, no dial per
// probe), and reports each failure and each recovery; a healthy answer
// after a healthy answer changes nothing, so it does not wake the loop.
//
// The probes of every sidecar with the same period are aligned on the
// clock (multiples of the period), so 50 sidecars wake the app once per
// period instead of 50 times at scattered instants: each wake of an idle
// Go process costs far more (threads woken, the poller re-armed) than the
// probe's own write and read. The period between two probes of a sidecar,
// the timeout and the threshold are as configured; only the first probe
// comes at the first boundary after Ready, less than a period after it.
func (s *sidecar) probeLive(ctx context.Context, id int, url string, l config.LivenessSpec) {
	p, err := health.NewProber(url)
	if err != nil {
		s.log.Warn("liveness: cannot probe", "url", url, "err", err)
		return
	}
	defer p.Close()
	t := time.NewTimer(untilAligned(s.sup.now(), l.Period))
	defer t.Stop()
	lastOK := true // it was Ready: healthy
	for {
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
		r := p.Check(ctx, l.Timeout)
		if ctx.Err() != nil {
			return
		}
		t.Reset(untilAligned(s.sup.now(), l.Period))
		if r.OK && lastOK {
			continue // nothing new for the loop: do not wake it
		}
		lastOK = r.OK
		s.sendWhile(ctx, fact{kind: factLive, run: id, ok: r.OK, err: r.Err})
	}
}

// untilAligned is the wait from now to the next multiple of period on the
// wall clock (never 0: a probe that ended just before a boundary waits for
// the next one rather than probing twice in a row). Every sidecar's probe
// with the same period lands on the same instants.
func untilAligned(now time.Time, period time.Duration) time.Duration {
	d := now.Truncate(period).Add(period).Sub(now)
	if d < time.Millisecond { // the boundary is upon us: the next one
		d += period
	}
	return d
}

func (s *sidecar) handleFact(f fact) {
	switch f.kind {
	case factBackoffDone:
		if f.run != s.runID || s.run != nil || s.st.State != Backoff || !s.st.Wanted {
			return
		}
		if s.sup.noRestart.Load() {
			// Scheduled before the quit, due while it stops the others
			// (dependents first): quitting never restarts anything.
			s.st.State, s.st.NextRestartAt = Exited, nil
			s.st.Reason = s.st.LastError + "; not restarted: quitting"
			s.publish(EventState, nil)
			return
		}
		_ = s.start()
		return
	case factPreflight:
		p := s.pre
		if p == nil || f.run != p.id || s.run != nil || s.st.State != Starting {
			return // stopped or started again meanwhile
		}
		s.pre = nil
		if f.err != nil {
			s.fail(f.err)
			return
		}
		s.launch(p, f.port, f.reason)
		return
	}
	r := s.run
	if r == nil || f.run != r.id {
		return // about a run that already ended
	}
	switch f.kind {
	case factExit:
		r.exit = &f.exit
		if s.out != nil {
			s.out.Pace(false) // read the last lines, and the end of output, at once
		}
		if r.ending == endNone {
			s.log.Warn("exited", "how", f.exit.String())
		} else {
			s.log.Info("exited", "how", f.exit.String())
		}
		// Whatever the leader did, its group goes with it: a leftover
		// grandchild would keep the port and the pipes.
		if r.ending == endNone {
			_ = r.tree.Kill()
		}
		r.forceLogs = s.after(2*time.Second, fact{kind: factForceLogs, run: r.id})
		s.maybeFinish()
	case factLogsDone:
		r.logsOpen--
		s.maybeFinish()
	case factLinger:
		s.maybeFinish()
	case factForceLogs:
		// Someone outside our group (a setsid'd grandchild) still holds
		// the pipes: stop reading rather than leak the readers. Not while
		// a stop's grace runs: the leader may be gone while the server it
		// started drains (a launcher that does not forward SIGTERM), and
		// stop_timeout is its time; the kill at its end arms this again.
		if r.exit != nil && (r.ending == endNone || r.killed) {
			_ = r.tree.Kill()
			for _, rd := range r.readers {
				rd.Close()
			}
		}
	case factReady:
		if s.st.State != Starting {
			return
		}
		now := s.sup.now()
		r.readyAt = now
		r.healthURL = r.url + f.path
		if r.killTimer != nil {
			r.killTimer.Stop()
			r.killTimer = nil
		}
		s.st.State, s.st.HealthOK, s.st.HealthPath, s.st.ReadyAt = Ready, true, f.path, &now
		s.st.Attempt = 0
		if s.policy != nil {
			s.policy.Ready(now)
		}
		s.liveFails = 0
		s.log.Info("ready", "url", r.url, "health", f.path, "after", now.Sub(r.startedAt).Round(time.Millisecond))
		wasTroubled := s.troubled
		s.troubled = false
		s.publish(EventState, nil)
		if wasTroubled {
			s.publish(EventRecovered, func(e *Event) { e.Reason = "ready again" })
		}
		if l := s.specCopy().Liveness; !l.Disabled && l.Period > 0 {
			r.probing.Go(func() { s.probeLive(r.ctx, r.id, r.healthURL, l) })
		}
		if s.out != nil && r.exit == nil {
			s.out.Pace(true) // no more readiness kicks: gather its lines (logs.SidecarLog.Pace)
		}
	case factLive:
		s.liveness(r, f)
	case factStartupTimeout:
		if s.st.State == Starting && r.ending == endNone {
			reason := fmt.Sprintf("not ready within startup_timeout %s", s.specCopy().StartupTimeout)
			s.st.LastError = reason
			s.end(endStartupTimeout, reason)
		}
	case factKillTimeout:
		r.killed = true
		if r.exit == nil || r.logsOpen > 0 || proc.Lingering(r.tree) {
			s.log.Warn("did not stop within stop_timeout; killing its process group", "stop_timeout", s.specCopy().StopTimeout)
			_ = r.tree.Kill()
		}
		if r.exit != nil && r.logsOpen > 0 {
			// The grace is over: the pipes get the usual moment to drain
			// after the kill, then are closed (factForceLogs).
			if r.forceLogs != nil {
				r.forceLogs.Stop()
			}
			r.forceLogs = s.after(2*time.Second, fact{kind: factForceLogs, run: r.id})
		}
	}
}

func (s *sidecar) liveness(r *run, f fact) {
	if r.ending != endNone || (s.st.State != Ready && s.st.State != Unhealthy) {
		return
	}
	l := s.specCopy().Liveness
	if f.ok {
		s.liveFails = 0
		if !s.st.HealthOK {
			s.st.HealthOK = true
			s.publish(EventState, nil)
		}
		return
	}
	s.liveFails++
	if s.st.HealthOK {
		s.st.HealthOK = false
		s.publish(EventState, nil)
	}
	if s.liveFails < l.FailureThreshold {
		return
	}
	reason := fmt.Sprintf("liveness failed %d times in a row", s.liveFails)
	if f.err != nil {
		reason += ": " + f.err.Error()
	}
	s.st.State, s.st.Reason, s.st.LastError = Unhealthy, reason, reason
	s.troubled = true
	s.log.Warn("unhealthy; restarting", "reason", reason)
	s.publish(EventUnhealthy, func(e *Event) { e.Reason = reason })
	s.end(endUnhealthy, reason)
}

// end asks the run's whole tree to stop: SIGTERM to the group now, SIGKILL
// after stop_timeout. The run finishes when the leader is reaped and its
// output pipes are closed (every process of the group is gone).
func (s *sidecar) end(why ending, reason string) {
	r := s.run
	if r.ending != endNone {
		// The user's word overrides ours: a Stop any end under way, a
		// Restart one we began (failing liveness, startup timeout), which
		// would otherwise finish as that (Exited or Failed, the Restart
		// answered with nothing started). The grace already running goes
		// on; only what follows the end changes.
		override := why == endUser ||
			why == endRestart && (r.ending == endUnhealthy || r.ending == endStartupTimeout)
		if override && r.ending != why {
			r.ending = why
			s.st.State, s.st.Reason = Stopping, reason
			s.publish(EventState, nil)
		}
		return
	}
	r.ending = why
	r.cancel()
	if r.killTimer != nil {
		r.killTimer.Stop()
	}
	if why != endUnhealthy {
		s.st.State = Stopping
	}
	s.st.Reason = reason
	s.publish(EventState, nil)
	if r.exit != nil {
		_ = r.tree.Kill()
		r.killed = true // no grace after an exit: what is left goes at once
		return
	}
	if err := r.tree.Terminate(); err != nil {
		s.log.Warn("terminate", "err", err)
	}
	r.killTimer = s.after(s.specCopy().StopTimeout, fact{kind: factKillTimeout, run: r.id})
	if r.adopted {
		go s.awaitForeign(r)
	}
}

// awaitForeign waits for an adopted tree to end after we signalled it.
// It is not our child, so there is no Wait to block on: polling is the only
// way, and it lasts at most stop_timeout plus the SIGKILL.
func (s *sidecar) awaitForeign(r *run) {
	t := time.NewTicker(25 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if !proc.GroupAlive(r.tree.PGID) {
				s.send(fact{kind: factExit, run: r.id, exit: Exit{Code: -1, Signal: "terminated", At: s.sup.now()}})
				return
			}
		case <-s.dead:
			return
		}
	}
}

// adopt takes over a sidecar process left by an earlier run (adopt = true):
// it is probed like a fresh start and watched by the sweep from then on.
// New calls it before the sidecar's goroutine starts, so no caller ever
// sees the sidecar Stopped in between.
func (s *sidecar) adopt(rec proc.Record) {
	spec := s.specCopy()
	s.runID++
	r := &run{id: s.runID, tree: proc.AdoptTree(rec), adopted: true,
		startedAt: rec.StartedAt, kick: make(chan struct{}, 1)}
	at := spec
	at.Port = rec.Port
	r.url = at.URL()
	s.run = r
	s.st.State, s.st.Wanted = Starting, true
	s.st.PID, s.st.PGID, s.st.CreateTime = rec.PID, rec.PGID, rec.CreateTime
	s.st.Cgroup = proc.TreeCgroup(r.tree)
	s.st.Port, s.st.URL = rec.Port, r.url
	started := rec.StartedAt
	s.st.StartedAt = &started
	s.st.Reason = fmt.Sprintf("adopted pid %d from an earlier run (its output is not captured)", rec.PID)
	if err := s.sup.guardian.Watch(r.tree, rec.CreateTime); err != nil && s.sup.guardian != nil {
		s.log.Warn("guardian: cannot watch", "err", err)
	}
	s.log.Info("adopted", "pid", rec.PID, "port", rec.Port)
	s.publish(EventState, nil)
	r.ctx, r.cancel = context.WithCancel(context.Background())
	r.probing.Go(func() { s.probeReady(r.ctx, r.id, r.url, spec.Health, r.kick, alreadyRecorded) })
	if spec.StartupTimeout > 0 {
		r.killTimer = s.after(spec.StartupTimeout, fact{kind: factStartupTimeout, run: r.id})
	}
}

// alreadyRecorded is the recorded channel of an adopted run: its record is
// the one it was adopted from.
var alreadyRecorded = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

func (s *sidecar) maybeFinish() {
	r := s.run
	if r.exit == nil || r.logsOpen > 0 {
		return
	}
	// A process that left the group or closed its output (a daemon that
	// called setsid and double-forked) is still part of the run: the run,
	// and so a restart, waits until it is gone. After a crash it was
	// killed with the leader; on Stop the kill timer ends it.
	if proc.Lingering(r.tree) {
		if r.ending == endNone {
			_ = r.tree.Kill()
		}
		r.linger = min(max(2*r.linger, 25*time.Millisecond), 500*time.Millisecond)
		s.after(r.linger, fact{kind: factLinger, run: r.id}) // foreign processes: no event to wait on
		return
	}
	r.cancel()
	// A kept probe connection to the dead server holds its port (the
	// server's end waits in FIN_WAIT2 for ours to close): the probes close
	// theirs before the run ends, so a restart finds the port free. They
	// end at once on the cancel.
	r.probing.Wait()
	for _, t := range []*time.Timer{r.killTimer, r.forceLogs} {
		if t != nil {
			t.Stop()
		}
	}
	for _, rd := range r.readers {
		rd.Close()
	}
	// The run's last lines reach the file before anyone hears of the exit.
	if s.out != nil {
		if err := s.out.Flush(); err != nil {
			s.log.Warn("log file", "err", err)
		}
	}
	if err := s.sup.guardian.Forget(r.tree); err != nil && s.sup.guardian != nil {
		s.log.Warn("guardian: cannot forget", "err", err)
	}
	_ = r.tree.Close()
	if s.sup.stateW != nil {
		if err := s.sup.stateW.delete(s.name); err != nil {
			s.log.Warn("state file", "err", err)
		}
	}
	s.run = nil
	exit := *r.exit
	s.st.LastExit = &exit
	s.st.PID, s.st.PGID, s.st.Cgroup, s.st.CreateTime = 0, 0, "", 0
	s.st.HealthOK = false
	s.st.CPUPercent, s.st.RSSBytes = 0, 0
	s.st.StartedAt, s.st.ReadyAt = nil, nil

	switch r.ending {
	case endUser:
		s.st.State = Stopped
		s.publish(EventState, nil)
		s.replyWaiters(nil)
		if s.startAfterStop {
			s.startAfterStop = false
			if s.sup.noRestart.Load() {
				s.st.Wanted = false
				s.publish(EventState, nil)
				s.replyLaunching(fmt.Errorf("start %s: %w", s.name, ErrQuitting))
				break
			}
			if err := s.start(); err != nil {
				s.replyLaunching(err)
			}
		}
	case endRestart:
		if s.sup.noRestart.Load() {
			// Asked before the quit, which has not reached this sidecar
			// yet (it stops dependents first): the quit wins.
			s.st.State, s.st.Wanted, s.st.Reason = Stopped, false, "not restarted: quitting"
			s.publish(EventState, nil)
			s.replyWaiters(fmt.Errorf("restart %s: quitting", s.name))
			break
		}
		if err := s.start(); err != nil {
			s.replyWaiters(err)
		} else { // they hear when the new process is up
			s.launching = append(s.launching, s.waiters...)
			s.waiters = nil
		}
	case endStartupTimeout:
		s.st.State, s.st.Wanted = Failed, false
		s.st.Reason = s.st.LastError
		s.log.Error("failed", "reason", s.st.LastError)
		s.publish(EventState, nil)
		s.replyWaiters(errors.New(s.st.LastError))
	default: // crashed, or ended by us for failing liveness
		s.crashed(r, exit)
	}
}

func (s *sidecar) replyWaiters(err error) {
	for _, w := range s.waiters {
		w <- err
	}
	s.waiters = nil
}

// crashed hands an unrequested end to the restart policy.
func (s *sidecar) crashed(r *run, exit Exit) {
	wasReady := !r.readyAt.IsZero()
	var what string
	switch {
	case r.ending == endUnhealthy:
		what = fmt.Sprintf("ended after failing liveness (%s)", exit) // a restart, if any, is told next
	case wasReady:
		what = fmt.Sprintf("crashed after running %s: %s", exit.At.Sub(r.startedAt).Round(time.Millisecond), exit)
	default:
		what = fmt.Sprintf("failed during startup (never ready): %s", exit)
	}
	s.troubled = true
	s.st.LastError = what
	if !s.st.Wanted || s.policy == nil || s.sup.noRestart.Load() {
		s.st.State, s.st.Reason = Exited, what
		s.publish(EventState, nil)
		s.replyWaiters(nil)
		return
	}
	cause := ""
	if r.ending == endUnhealthy {
		cause = "liveness failed"
	}
	d := s.policy.Exited(ExitInfo{Exit: exit, WasReady: wasReady, Cause: cause}, s.sup.now())
	s.st.Attempt = d.Attempt
	reason := what
	if d.Reason != "" {
		reason = what + "; " + d.Reason
	}
	switch {
	case d.GiveUp:
		s.st.State, s.st.Wanted, s.st.Reason, s.st.LastError = Failed, false, reason, reason
		s.log.Error("gave up", "reason", reason)
		s.publish(EventState, nil)
		s.publish(EventGaveUp, func(e *Event) { e.Reason = reason; e.Attempt = d.Attempt })
	case !d.Restart:
		s.st.State, s.st.Reason = Exited, reason
		s.publish(EventState, nil)
	default:
		s.st.Restarts++
		s.log.Warn("restarting", "reason", what, "attempt", d.Attempt, "delay", d.Delay)
		at := s.sup.now().Add(d.Delay)
		s.st.State, s.st.Reason, s.st.NextRestartAt = Backoff, reason, &at
		s.publish(EventRestarting, func(e *Event) { e.Attempt, e.Delay, e.Reason = d.Attempt, d.Delay, reason })
		if d.Delay <= 0 {
			_ = s.start()
		} else {
			s.backoff = s.after(d.Delay, fact{kind: factBackoffDone, run: s.runID})
		}
	}
	s.replyWaiters(nil)
}

func (s *sidecar) cancelBackoff() {
	if s.backoff != nil {
		s.backoff.Stop()
		s.backoff = nil
	}
}

// shutdown runs when the supervisor closes: anything still running is
// killed and reaped before the goroutine ends.
func (s *sidecar) shutdown() {
	s.cancelBackoff()
	if r := s.run; r != nil && r.adopted {
		r.cancel()
		_ = r.tree.Kill() // not our child: nothing to reap
		s.run = nil
	}
	if r := s.run; r != nil {
		r.cancel()
		_ = r.tree.Kill()
		r.killed = true
		deadline := time.After(5 * time.Second)
		for s.run != nil {
			select {
			case f := <-s.facts:
				if f.kind == factExit || f.kind == factLogsDone || f.kind == factForceLogs || f.kind == factLinger {
					s.handleFact(f)
				}
			case <-deadline:
				s.log.Error("process did not end on SIGKILL", "pid", r.tree.PID)
				return
			}
		}
	}
	s.replyWaiters(errors.New("supervisor closed"))
	s.replyLaunching(errors.New("supervisor closed"))
	if s.out != nil {
		_ = s.out.Close()
	}
}
