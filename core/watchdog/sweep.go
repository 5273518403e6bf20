package watchdog

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/shirou/gopsutil/v3/process"

	"outrigger/core/proc"
	"outrigger/core/supervisor"
)

// Watchdog is the second pair of eyes: independently of the spawner's own
// Wait (which reports an exit at once), it sweeps every supervised process
// — exists, not a zombie, same create time, so a reused pid is never
// mistaken for ours — and samples CPU and memory over the sidecar's whole
// tree (a PyInstaller sidecar is two processes).
//
// Metrics are only worth their cost while someone looks at them, so the
// sweep runs at a watcher's rate only while there is one (see Watch: the
// window while it is visible, an API client subscribed to status) and
// otherwise every IdleInterval, which is enough for what only the sweep can
// see (processes adopted from an earlier run, a stray zombie).
type Watchdog struct {
	sup      Target
	interval time.Duration
	idle     time.Duration // IdleInterval; tests shorten or lengthen it
	log      *slog.Logger

	mu       sync.Mutex
	watchers map[int]time.Duration // Watch id → its rate
	nextID   int
	changed  chan struct{} // cap 1: the watchers changed, Run recomputes its period
	onWatch  func(watched bool)

	procs   map[procKey]*process.Process // kept so Percent(0) measures since the last sweep
	ticks   map[procKey]tickSample       // CPU ticks at the last sweep (Linux path)
	leaders map[procKey]uint64           // leader (pid, create time) → its start ticks, once vouched for
}

var pageSize = os.Getpagesize()

// Target is what the watchdog watches: the supervisor.
type Target interface {
	Snapshot() []supervisor.Status
	ReportMetrics(name string, pid int, cpuPercent float64, rssBytes uint64)
	ReportGone(name string, pid int, what string)
}

// procKey names one process for its whole life: a pid plus its start time
// (proc.CreateTime for leaders, minus the /proc start ticks for
// other tree members, so the two kinds never collide).
type procKey struct {
	pid   int32
	start int64
}

// New makes a watchdog sweeping every interval (default 1 s).
func New(sup Target, interval time.Duration, log *slog.Logger) *Watchdog {
	if interval <= 0 {
		interval = time.Second
	}
	if log == nil {
		log = slog.Default()
	}
	// gopsutil's boot-time cache is switched on by core/proc's init.
	return &Watchdog{sup: sup, interval: interval, idle: IdleInterval, log: log, procs: map[procKey]*process.Process{},
		ticks: map[procKey]tickSample{}, leaders: map[procKey]uint64{},
		watchers: map[int]time.Duration{}, changed: make(chan struct{}, 1)}
}

// IdleInterval is the sweep period while nobody watches.
// An unwatched sweep at 50 sidecars costs about a millisecond of CPU, so
// this keeps it well under 0.01 % of a core while an adopted process that
// dies is still noticed within half a minute.
const IdleInterval = 30 * time.Second

// Watch asks for a sweep every rate (New's interval if rate <= 0) until
// cancel is called; a first sweep follows at once. Watchers are counted:
// the fastest rate asked for applies, and with none left the sweep goes
// back to IdleInterval. cancel may be called more than once.
func (w *Watchdog) Watch(rate time.Duration) (cancel func()) {
	if rate <= 0 {
		rate = w.interval
	}
	w.mu.Lock()
	w.nextID++
	id := w.nextID
	w.watchers[id] = rate
	w.mu.Unlock()
	w.poke()
	var once sync.Once
	return func() {
		once.Do(func() {
			w.mu.Lock()
			delete(w.watchers, id)
			w.mu.Unlock()
			w.poke()
		})
	}
}

func (w *Watchdog) poke() {
	select {
	case w.changed <- struct{}{}:
	default:
	}
}

// OnWatched has Run call f with whether anyone watches: once as it
// starts, then on each change, always from Run's goroutine and in order.
// Call it before Run.
func (w *Watchdog) OnWatched(f func(watched bool)) { w.onWatch = f }

// period is the sweep period now: the fastest watcher's, else IdleInterval.
func (w *Watchdog) period() (time.Duration, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	p := w.idle
	for _, r := range w.watchers {
		p = min(p, r)
	}
	return p, len(w.watchers) > 0
}

// Run sweeps until ctx ends. It is the watchdog's one goroutine: the caller
// starts it with the supervisor and cancels ctx (and waits) before closing it.
// Its one timer is set to the current period; nothing else wakes it but a
// change of watchers.
func (w *Watchdog) Run(ctx context.Context) {
	p, _ := w.period()
	t := time.NewTimer(p)
	defer t.Stop()
	watched := false
	if w.onWatch != nil {
		w.onWatch(false) // a watcher already there pokes: its change follows
	}
	for {
		select {
		case <-t.C:
			if watched {
				w.Sweep()
			} else {
				w.check()
			}
			p, _ = w.period()
			t.Reset(p)
		case <-w.changed:
			prev := p
			var now bool
			p, now = w.period()
			swept := now && !watched
			if swept {
				w.Sweep() // a new look: show figures at once, and set the CPU baseline
			}
			if now != watched && w.onWatch != nil {
				w.onWatch(now)
			}
			watched = now
			// A watcher that comes and goes without changing the period
			// must not push the next sweep back: reset only on a change.
			if swept || p != prev {
				t.Reset(p) // Go ≥ 1.23: no stale tick survives a Reset
			}
		case <-ctx.Done():
			return
		}
	}
}

// Sweep checks every supervised process once.
func (w *Watchdog) Sweep() {
	seen := map[procKey]bool{}
	var scan groupScan
	for _, st := range w.sup.Snapshot() {
		if st.PID <= 0 {
			continue
		}
		var l proc.Liveness
		var cpu float64
		var rss uint64
		if members, ok := w.members(st, &scan); ok {
			l, cpu, rss = w.fromScan(st, members, seen)
		} else {
			leader := w.kept(procKey{int32(st.PID), st.CreateTime}, seen)
			if l = liveness(leader, st.PID, st.CreateTime); l == proc.Alive {
				cpu, rss = w.sample(st, leader, seen)
			}
		}
		if l != proc.Alive {
			w.log.Warn("watchdog: supervised process is "+l.String(), "sidecar", st.Name, "pid", st.PID)
			w.sup.ReportGone(st.Name, st.PID, l.String())
			continue
		}
		w.sup.ReportMetrics(st.Name, st.PID, cpu, rss)
	}
	for k := range w.procs {
		if !seen[k] {
			delete(w.procs, k)
		}
	}
	for k := range w.ticks {
		if !seen[k] {
			delete(w.ticks, k)
		}
	}
	for k := range w.leaders {
		if !seen[k] {
			delete(w.leaders, k)
		}
	}
}

// members lists the live processes of st's run (Linux): its cgroup's when
// it has one, else its process group's. ok is false where /proc cannot be
// read (other systems), and gopsutil measures the leader alone.
//
// A run's cgroup names its processes in one file, so a sweep of runs that
// all have one reads only their processes. Reading every process on the
// machine instead (the group's members can only be found that way) cost
// the shown window 0.4 % of a core on a machine of 70 processes, and a
// desktop has hundreds.
func (w *Watchdog) members(st supervisor.Status, scan *groupScan) ([]proc.Stat, bool) {
	if st.Cgroup != "" {
		if ms, err := proc.CgroupStats(st.Cgroup); err == nil {
			return ms, true
		}
		// The cgroup is gone (the run is ending) or unreadable: the
		// group's members say which.
	}
	groups := scan.get()
	if groups == nil {
		return nil, false
	}
	return groups[st.PGID], true
}

// groupScan is one sweep's read of every process, by process group: made
// at most once, and only if a run without a cgroup needs it.
type groupScan struct {
	done   bool
	groups map[int][]proc.Stat
}

func (g *groupScan) get() map[int][]proc.Stat {
	if !g.done {
		g.groups, g.done = scanGroups(), true
	}
	return g.groups
}

// scanGroups reads every process on the machine; a test counts the calls.
var scanGroups = proc.ScanGroups

// check is the sweep while nobody watches: no metrics (nobody would see
// them), only whether each process is still ours and alive, by one read of
// its own /proc stat once its identity has been vouched for, instead of a
// read of every process on the machine. Processes adopted from an earlier
// run (not our children: no Wait tells their exit) and stray zombies are
// what it is for.
func (w *Watchdog) check() {
	seen := map[procKey]bool{}
	for _, st := range w.sup.Snapshot() {
		if st.PID <= 0 {
			continue
		}
		lk := procKey{int32(st.PID), st.CreateTime}
		seen[lk] = true
		if start, known := w.leaders[lk]; known {
			if now, ok := liveStart(st.PID); ok && now == start {
				continue
			}
		}
		l := proc.Check(st.PID, st.CreateTime) // vouches for its identity
		if l == proc.Alive {
			if start, ok := liveStart(st.PID); ok {
				w.leaders[lk] = start
			}
			continue
		}
		w.log.Warn("watchdog: supervised process is "+l.String(), "sidecar", st.Name, "pid", st.PID)
		w.sup.ReportGone(st.Name, st.PID, l.String())
	}
	for k := range w.leaders {
		if !seen[k] {
			delete(w.leaders, k)
		}
	}
}

// fromScan answers from the run's members as read from /proc (Linux): one
// file per process instead of the four gopsutil reads (stat for IsRunning and
// again for Percent, status for the zombie check, statm for memory), which
// is what keeps 100 sidecars under 1 % of a core. proc.Check vouches for a
// leader's identity (pid + create time) the first time it is seen; after
// that its start ticks in /proc identify it.
func (w *Watchdog) fromScan(st supervisor.Status, members []proc.Stat, seen map[procKey]bool) (proc.Liveness, float64, uint64) {
	lk := procKey{int32(st.PID), st.CreateTime}
	seen[lk] = true
	var leader *proc.Stat
	for i, m := range members {
		if m.PID == st.PID {
			leader = &members[i]
		}
	}
	start, known := w.leaders[lk]
	switch {
	case leader == nil:
		return proc.Check(st.PID, st.CreateTime), 0, 0 // gone, zombie or moved group: say which
	case !known:
		if l := proc.Check(st.PID, st.CreateTime); l != proc.Alive {
			return l, 0, 0
		}
		w.leaders[lk] = leader.StartTicks
	case start != leader.StartTicks:
		return proc.Replaced, 0, 0
	}
	now := time.Now()
	var cpu float64
	var rss uint64
	for _, m := range members {
		k := procKey{int32(m.PID), -int64(m.StartTicks)}
		seen[k] = true
		rss += uint64(m.RSSPages) * uint64(pageSize)
		if prev, ok := w.ticks[k]; ok && now.After(prev.at) {
			cpu += float64(m.CPUTicks-prev.ticks) / clockTicks / now.Sub(prev.at).Seconds() * 100
		}
		w.ticks[k] = tickSample{ticks: m.CPUTicks, at: now}
	}
	return proc.Alive, cpu, rss
}

type tickSample struct {
	ticks uint64
	at    time.Time
}

// liveness asks gopsutil, on the kept *Process: IsRunning compares the
// create time, so a reused pid is never taken for ours; Status tells a
// zombie.
func liveness(p *process.Process, pid int, createTime int64) proc.Liveness {
	if p == nil {
		return proc.Check(pid, createTime)
	}
	if running, err := p.IsRunning(); err != nil || !running {
		return proc.Check(pid, createTime) // gone, or replaced: say which
	}
	if st, err := p.Status(); err == nil {
		for _, s := range st {
			if s == process.Zombie {
				return proc.Zombie
			}
		}
	}
	return proc.Alive
}

// sample measures the leader where /proc cannot be read (other systems):
// v3's Children() would shell out to pgrep per call.
func (w *Watchdog) sample(st supervisor.Status, leader *process.Process, seen map[procKey]bool) (float64, uint64) {
	ps := []*process.Process{leader}
	var cpu float64
	var rss uint64
	for _, p := range ps {
		if p == nil {
			continue
		}
		if c, err := p.Percent(0); err == nil {
			cpu += c
		}
		if m, err := p.MemoryInfo(); err == nil {
			rss += m.RSS
		}
	}
	return cpu, rss
}

// kept returns the *process.Process kept for k since an earlier sweep, so
// Percent(0) measures the CPU used since then rather than over its lifetime.
func (w *Watchdog) kept(k procKey, seen map[procKey]bool) *process.Process {
	seen[k] = true
	if p, ok := w.procs[k]; ok {
		return p
	}
	p, err := process.NewProcess(k.pid)
	if err != nil {
		return nil
	}
	_, _ = p.Percent(0) // the first call only sets the baseline
	w.procs[k] = p
	return p
}

// SweepOrphans ends, before anything starts, every process a killed earlier
// run left behind: each recorded sidecar whose pid still has its recorded
// create time is ended with its group. A pid now used by another process is
// never touched. Sidecars named in adopt (adopt = true) are not ended but
// returned, still recorded, for supervisor.Options.Adopt; every other
// record is forgotten. ended names the sidecars whose leftovers were ended.
func SweepOrphans(stateFile string, grace time.Duration, adopt map[string]bool, log *slog.Logger) (ended []string, adopted []proc.Record, err error) {
	sf, err := proc.OpenStateFile(stateFile)
	if sf == nil {
		return nil, nil, err
	}
	if err != nil {
		log.Warn("orphan sweep", "err", err)
	}
	var errs []error
	for _, r := range sf.All() {
		if adopt[r.Name] && proc.Check(r.PID, r.CreateTime) == proc.Alive {
			log.Info("adopting a sidecar left running by an earlier run", "sidecar", r.Name, "pid", r.PID)
			adopted = append(adopted, r)
			continue
		}
		did, err := proc.EndLeftover(r, grace)
		switch {
		case err != nil:
			errs = append(errs, err)
		case did:
			log.Warn("ended a sidecar left running by an earlier run", "sidecar", r.Name, "pid", r.PID, "pgid", r.PGID)
			ended = append(ended, r.Name)
		default:
			log.Debug("state file record no longer names a live sidecar", "sidecar", r.Name, "pid", r.PID)
		}
		if err := sf.Delete(r.Name); err != nil {
			errs = append(errs, err)
		}
	}
	// Run cgroups of a dead app instance that no record names (the app and
	// its guardian were killed before the record was written, or the
	// record was lost), except those of the runs adopted now.
	keep := map[string]bool{}
	for _, r := range adopted {
		if r.Cgroup != "" {
			keep[r.Cgroup] = true
		}
	}
	dirs, err := proc.EndLeftoverCgroups(grace, keep)
	for _, d := range dirs {
		log.Warn("ended processes left in the cgroup of an earlier run", "cgroup", d)
	}
	if err != nil {
		errs = append(errs, err)
	}
	return ended, adopted, errors.Join(errs...)
}
