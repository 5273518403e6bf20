package watchdog

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/shirou/gopsutil/v3/process"

	"outrigger/core/proc"
	"outrigger/core/supervisor"
)

// Watchdog is the second pair of eyes: independently of the spawner's own
// Wait (which reports an exit at once), it sweeps every supervised process
// each tick — exists, not a zombie, same create time, so a reused pid is
// never mistaken for ours — and samples CPU and memory over the sidecar's
// whole tree (a PyInstaller sidecar is two processes).
type Watchdog struct {
	sup      Target
	interval time.Duration
	log      *slog.Logger
	procs    map[procKey]*process.Process // kept so Percent(0) measures since the last sweep
}

// Target is what the watchdog watches: the supervisor.
type Target interface {
	Snapshot() []supervisor.Status
	ReportMetrics(name string, pid int, cpuPercent float64, rssBytes uint64)
	ReportGone(name string, pid int, what string)
}

type procKey struct {
	pid        int32
	createTime int64
}

// New makes a watchdog sweeping every interval (default 1 s).
func New(sup Target, interval time.Duration, log *slog.Logger) *Watchdog {
	if interval <= 0 {
		interval = time.Second
	}
	if log == nil {
		log = slog.Default()
	}
	return &Watchdog{sup: sup, interval: interval, log: log, procs: map[procKey]*process.Process{}}
}

// Run sweeps until ctx ends. It is the watchdog's one goroutine: the caller
// starts it with the supervisor and cancels ctx (and waits) before closing it.
func (w *Watchdog) Run(ctx context.Context) {
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			w.Sweep()
		case <-ctx.Done():
			return
		}
	}
}

// Sweep checks every supervised process once.
func (w *Watchdog) Sweep() {
	seen := map[procKey]bool{}
	for _, st := range w.sup.Snapshot() {
		if st.PID <= 0 {
			continue
		}
		switch l := proc.Check(st.PID, st.CreateTime); l {
		case proc.Alive:
		default:
			w.log.Warn("watchdog: supervised process is "+l.String(), "sidecar", st.Name, "pid", st.PID)
			w.sup.ReportGone(st.Name, st.PID, l.String())
			continue
		}
		cpu, rss := w.sample(st, seen)
		w.sup.ReportMetrics(st.Name, st.PID, cpu, rss)
	}
	for k := range w.procs {
		if !seen[k] {
			delete(w.procs, k)
		}
	}
}

// sample sums CPU and RSS over the tree. Tree members are found by process
// group from /proc (Linux); elsewhere the leader alone is measured.
func (w *Watchdog) sample(st supervisor.Status, seen map[procKey]bool) (float64, uint64) {
	members := proc.GroupMembers(st.PGID)
	if len(members) == 0 {
		members = []int{st.PID}
	}
	var cpu float64
	var rss uint64
	for _, pid := range members {
		p := w.kept(pid, seen)
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

// kept returns the *process.Process kept for pid since an earlier sweep, so
// Percent(0) measures the CPU used since then rather than over its lifetime.
func (w *Watchdog) kept(pid int, seen map[procKey]bool) *process.Process {
	ct, err := proc.CreateTime(pid)
	if err != nil {
		return nil
	}
	k := procKey{int32(pid), ct}
	seen[k] = true
	if p, ok := w.procs[k]; ok {
		return p
	}
	p, err := process.NewProcess(int32(pid))
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
// never touched. The records are then forgotten. It returns the names of
// the sidecars whose leftovers were ended.
func SweepOrphans(stateFile string, grace time.Duration, log *slog.Logger) ([]string, error) {
	sf, err := proc.OpenStateFile(stateFile)
	if sf == nil {
		return nil, err
	}
	if err != nil {
		log.Warn("orphan sweep", "err", err)
	}
	var ended []string
	var errs []error
	for _, r := range sf.All() {
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
	return ended, errors.Join(errs...)
}
