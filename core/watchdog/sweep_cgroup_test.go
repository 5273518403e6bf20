//go:build linux

package watchdog

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"outrigger/core/proc"
	"outrigger/core/supervisor"
)

// metricsTarget is the real supervisor's snapshot with the metrics a
// sweep reports kept for the test.
type metricsTarget struct {
	sup *supervisor.Supervisor
	mu  sync.Mutex
	rss map[string]uint64
}

func (m *metricsTarget) Snapshot() []supervisor.Status { return m.sup.Snapshot() }
func (m *metricsTarget) ReportMetrics(name string, _ int, _ float64, rss uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rss[name] = rss
}
func (m *metricsTarget) ReportGone(string, int, string) {}

// A watched sweep of runs that each have a cgroup reads their processes
// only (cgroup.procs), never every process on the machine: that read was
// the window's cost above a bare Fyne window, and grows with the machine,
// not with the sidecars. The figures still cover the whole tree.
func TestWatchedSweepReadsOnlyTheRunsCgroups(t *testing.T) {
	if ok, why := proc.CgroupsInUse(); !ok {
		t.Skip("no cgroup per run here:", why)
	}
	var scans atomic.Int32
	scanGroups = func() map[int][]proc.Stat { scans.Add(1); return proc.ScanGroups() }
	t.Cleanup(func() { scanGroups = proc.ScanGroups }) // after the rig's cleanup: its watchdog calls it too

	r := newRig(t, spec(t, "twoproc", "-fork-grandchild")) // a PyInstaller --onefile shape: leader and server
	if err := r.sup.Start(context.Background(), "twoproc"); err != nil {
		t.Fatal(err)
	}
	st := r.ready("twoproc")
	if st.Cgroup == "" {
		t.Fatalf("status of a run started with cgroups in use has no cgroup: %+v", st)
	}
	var child proc.Stat // the server: Ready means it answers
	for _, pid := range proc.GroupMembers(st.PGID) {
		if pid != st.PID {
			child, _ = proc.ReadStat(pid)
		}
	}
	if child.PID == 0 {
		t.Fatal("the leader's child is not in its group")
	}
	leader, err := proc.ReadStat(st.PID)
	if err != nil {
		t.Fatal(err)
	}

	m := &metricsTarget{sup: r.sup, rss: map[string]uint64{}}
	w := New(m, time.Second, slog.New(slog.NewTextHandler(io.Discard, nil)))
	scans.Store(0)
	w.Sweep()
	w.Sweep()
	if n := scans.Load(); n != 0 {
		t.Errorf("the sweeps read every process on the machine %d times; want 0 (the run has cgroup %s)", n, st.Cgroup)
	}
	m.mu.Lock()
	got := m.rss["twoproc"]
	m.mu.Unlock()
	leaderRSS := uint64(leader.RSSPages) * uint64(pageSize)
	childRSS := uint64(child.RSSPages) * uint64(pageSize)
	if got < leaderRSS+childRSS/2 {
		t.Errorf("reported RSS %d B; want the tree's (leader %d B + child %d B)", got, leaderRSS, childRSS)
	}
}
