//go:build unix

package watchdog

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"outrigger/core/appdirs"
	"outrigger/core/config"
	"outrigger/core/proc"
	"outrigger/core/supervisor"
	"outrigger/internal/testutil"
)

func TestMain(m *testing.M) {
	proc.RunGuardianIfRequested()
	if os.Getenv("WATCHDOG_CHILD_SUPERVISOR") != "" {
		childSupervisor()
		return
	}
	testutil.RunMain(m)
}

const wait = 30 * time.Second

func spec(t testing.TB, name string, args ...string) config.Spec {
	s := config.DefaultSpec(name, testutil.FreePort(t))
	s.Args = args
	s.StartupTimeout = 20 * time.Second
	s.StopTimeout = 3 * time.Second
	s.Restart.InitialBackoff = 50 * time.Millisecond
	s.Restart.MaxBackoff = 400 * time.Millisecond
	s.Liveness.Disabled = true
	return s
}

type rig struct {
	t   testing.TB
	sup *supervisor.Supervisor
	mu  sync.Mutex
	evs []supervisor.Event
}

func newRig(t testing.TB, specs ...config.Spec) *rig {
	t.Helper()
	return newRigWith(t, supervisor.Options{}, specs...)
}

func newRigWith(t testing.TB, opts supervisor.Options, specs ...config.Spec) *rig {
	t.Helper()
	var names []string
	for _, s := range specs {
		names = append(names, s.Name)
	}
	home := t.TempDir()
	opts.Config = config.Config{Mode: "standalone", Sidecars: specs}
	opts.Paths = appdirs.Paths{StateDir: filepath.Join(home, "state"), LogDir: filepath.Join(home, "logs"), DataDir: filepath.Join(home, "data")}
	opts.BinDirs = []string{testutil.BinDir(t, names...)}
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if opts.Policy == nil {
		opts.Policy = Factory
	}
	sup, err := supervisor.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, sup: sup}
	ch, cancel := sup.Subscribe()
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for e := range ch {
			r.mu.Lock()
			r.evs = append(r.evs, e)
			r.mu.Unlock()
		}
	}()
	wd := New(sup, 100*time.Millisecond, slog.New(slog.NewTextHandler(io.Discard, nil)))
	wd.Watch(0) // someone looks for the whole test: sweep every 100 ms
	go func() { defer wg.Done(); wd.Run(ctx) }()
	t.Cleanup(func() {
		stop()
		if err := sup.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		cancel()
		wg.Wait()
	})
	return r
}

func (r *rig) ready(name string) supervisor.Status {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := r.sup.WaitReady(ctx, name); err != nil {
		r.t.Fatalf("WaitReady %s: %v", name, err)
	}
	st, _ := r.sup.Status(name)
	return st
}

func (r *rig) until(desc string, f func(supervisor.Status) bool, name string) supervisor.Status {
	r.t.Helper()
	var st supervisor.Status
	testutil.Eventually(r.t, wait, func() bool { st, _ = r.sup.Status(name); return f(st) }, desc)
	return st
}

func (r *rig) count(kind supervisor.EventKind) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.evs {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

func (r *rig) find(kind supervisor.EventKind) (supervisor.Event, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.evs {
		if e.Kind == kind {
			return e, true
		}
	}
	return supervisor.Event{}, false
}

func TestKill9IsRestartedAndReadyAgain(t *testing.T) {
	r := newRig(t, spec(t, "victim"))
	if err := r.sup.Start(context.Background(), "victim"); err != nil {
		t.Fatal(err)
	}
	first := r.ready("victim")
	if err := syscall.Kill(first.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	st := r.until("victim restarted and ready", func(s supervisor.Status) bool {
		return s.State == supervisor.Ready && s.PID != first.PID
	}, "victim")
	if st.Restarts != 1 || st.LastExit == nil || st.LastExit.Signal != "killed" || st.Port != first.Port {
		t.Fatalf("after kill -9: %+v", st)
	}
	e, ok := r.find(supervisor.EventRestarting)
	if !ok || e.Delay != 0 || e.Attempt != 1 || !strings.Contains(e.Reason, "crashed after running") || !strings.Contains(e.Reason, "signal killed") {
		t.Fatalf("restarting event = %+v, want an immediate first restart naming the signal", e)
	}
	testutil.Eventually(t, wait, func() bool { return r.count(supervisor.EventRecovered) == 1 }, "recovered event")
	// The sweep samples the tree's memory.
	r.until("metrics sampled", func(s supervisor.Status) bool { return s.RSSBytes > 0 }, "victim")
}

func TestCrashLoopGivesUpThenManualStartResets(t *testing.T) {
	s := spec(t, "loop", "-unhealthy", "-crash-after", "50ms", "-exit-code", "3")
	s.Restart.MaxRetries = 3
	r := newRig(t, s)
	if err := r.sup.Start(context.Background(), "loop"); err != nil {
		t.Fatal(err)
	}
	st := r.until("loop gave up", func(s supervisor.Status) bool { return s.State == supervisor.Failed }, "loop")
	if st.Restarts != 3 || !strings.Contains(st.LastError, "gave up after 4") || !strings.Contains(st.LastError, "never ready") ||
		!strings.Contains(st.LastError, "exit code 3") {
		t.Fatalf("after crash loop: restarts %d, lastError %q", st.Restarts, st.LastError)
	}
	testutil.Eventually(t, wait, func() bool { return r.count(supervisor.EventGaveUp) == 1 }, "one GaveUp event")
	if n := r.count(supervisor.EventRestarting); n != 3 {
		t.Fatalf("%d restarting events, want 3", n)
	}
	// Failed stays Failed: nothing restarts it by itself.
	if err := r.sup.WaitReady(context.Background(), "loop"); err == nil {
		t.Fatal("WaitReady on a Failed sidecar succeeded")
	}
	// A manual Start resets the count and the loop runs again.
	if err := r.sup.Start(context.Background(), "loop"); err != nil {
		t.Fatalf("manual Start after giving up: %v", err)
	}
	testutil.Eventually(t, wait, func() bool { return r.count(supervisor.EventGaveUp) == 2 }, "the loop to run again and give up again")
}

func TestLivenessFailureRestarts(t *testing.T) {
	s := spec(t, "sickly")
	s.Liveness = config.LivenessSpec{Period: 100 * time.Millisecond, Timeout: time.Second, FailureThreshold: 3, SuccessThreshold: 1}
	r := newRig(t, s)
	if err := r.sup.Start(context.Background(), "sickly"); err != nil {
		t.Fatal(err)
	}
	first := r.ready("sickly")
	post(t, first.URL+"/sick")
	st := r.until("restarted after liveness failures", func(s supervisor.Status) bool {
		return s.State == supervisor.Ready && s.PID != first.PID
	}, "sickly")
	if _, ok := r.find(supervisor.EventUnhealthy); !ok {
		t.Fatal("no Unhealthy event")
	}
	if st.Restarts != 1 || !strings.Contains(st.LastError, "liveness") {
		t.Fatalf("after liveness restart: %+v", st)
	}
}

func TestDeadGrandchildRestartsWholeTree(t *testing.T) {
	s := spec(t, "onefile", "-fork-grandchild")
	s.Liveness = config.LivenessSpec{Period: 100 * time.Millisecond, Timeout: time.Second, FailureThreshold: 3, SuccessThreshold: 1}
	r := newRig(t, s)
	if err := r.sup.Start(context.Background(), "onefile"); err != nil {
		t.Fatal(err)
	}
	first := r.ready("onefile")
	var ids struct{ PID, PPID int }
	getJSON(t, first.URL+"/pid", &ids)
	post(t, first.URL+"/crash") // the serving grandchild dies; its parent lives on
	st := r.until("tree restarted", func(s supervisor.Status) bool {
		return s.State == supervisor.Ready && s.PID != first.PID
	}, "onefile")
	if testutil.ProcessAlive(first.PID) || testutil.ProcessAlive(ids.PID) {
		t.Fatalf("old tree survived: parent %v grandchild %v", testutil.ProcessAlive(first.PID), testutil.ProcessAlive(ids.PID))
	}
	var now struct{ PID, PPID int }
	getJSON(t, st.URL+"/pid", &now)
	if now.PPID != st.PID {
		t.Fatalf("new tree: serving pid %d parent %d, supervised %d", now.PID, now.PPID, st.PID)
	}
}

// fakeTarget lets the sweep look at processes the supervisor did not start.
type fakeTarget struct {
	mu       sync.Mutex
	statuses []supervisor.Status
	gone     map[string]string
}

func (f *fakeTarget) Snapshot() []supervisor.Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.statuses
}
func (f *fakeTarget) ReportMetrics(string, int, float64, uint64) {}
func (f *fakeTarget) ReportGone(name string, pid int, what string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gone[name] = what
}

func TestSweepSeesZombieAndReusedPID(t *testing.T) {
	zombie := exec.Command("sleep", "60")
	if err := zombie.Start(); err != nil {
		t.Fatal(err)
	}
	ct, err := proc.CreateTime(zombie.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	_ = zombie.Process.Kill() // not reaped: a zombie until Wait below
	defer zombie.Wait()
	testutil.Eventually(t, wait, func() bool { return proc.Check(zombie.Process.Pid, ct) == proc.Zombie }, "child to become a zombie")

	other := exec.Command("sleep", "60")
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = other.Process.Kill(); _ = other.Wait() }()

	f := &fakeTarget{gone: map[string]string{}, statuses: []supervisor.Status{
		{Name: "z", PID: zombie.Process.Pid, PGID: zombie.Process.Pid, CreateTime: ct},
		{Name: "reused", PID: other.Process.Pid, PGID: other.Process.Pid, CreateTime: 12345},
	}}
	New(f, time.Second, slog.New(slog.NewTextHandler(io.Discard, nil))).Sweep()
	if f.gone["z"] != "zombie" {
		t.Errorf("zombie reported as %q", f.gone["z"])
	}
	if f.gone["reused"] != proc.Replaced.String() {
		t.Errorf("reused pid reported as %q", f.gone["reused"])
	}
}

func TestOrphanSweepLeavesUnrelatedProcessAlone(t *testing.T) {
	other := exec.Command("sleep", "60")
	other.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = other.Process.Kill(); _ = other.Wait() }()
	path := filepath.Join(t.TempDir(), "sidecars.json")
	sf, _ := proc.OpenStateFile(path)
	ct, _ := proc.CreateTime(other.Process.Pid)
	// The record names this pid, but from an earlier life (older create time).
	if err := sf.Put(proc.Record{Name: "old", PID: other.Process.Pid, PGID: other.Process.Pid, CreateTime: ct - 60000}); err != nil {
		t.Fatal(err)
	}
	ended, _, err := SweepOrphans(path, time.Second, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil || len(ended) != 0 {
		t.Fatalf("SweepOrphans = %v, %v", ended, err)
	}
	if !testutil.ProcessAlive(other.Process.Pid) {
		t.Fatal("an unrelated process with a reused pid was killed")
	}
	sf2, _ := proc.OpenStateFile(path)
	if len(sf2.All()) != 0 {
		t.Fatal("stale record kept")
	}
}

// childSupervisor runs in a re-executed test binary: a supervisor with no
// guardian, so that when the test kills it with SIGKILL its sidecar's
// serving grandchild survives, as it would with any peer supervisor.
func childSupervisor() {
	var cfg config.Config
	if err := json.Unmarshal([]byte(os.Getenv("WATCHDOG_CHILD_SUPERVISOR")), &cfg); err != nil {
		panic(err)
	}
	sup, err := supervisor.New(supervisor.Options{
		Config:  cfg,
		Paths:   appdirs.Paths{StateDir: os.Getenv("CHILD_STATE"), LogDir: os.Getenv("CHILD_STATE"), DataDir: os.Getenv("CHILD_STATE")},
		BinDirs: []string{os.Getenv("CHILD_BIN")},
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		panic(err)
	}
	if err := sup.StartAll(context.Background()); err != nil {
		panic(err)
	}
	fmt.Println("READY")
	select {}
}

func TestLeftoversOfKilledSupervisorAreEndedAtNextStart(t *testing.T) {
	s := spec(t, "survivor", "-fork-grandchild")
	cfg := config.Config{Mode: "standalone", Sidecars: []config.Spec{s}}
	data, _ := json.Marshal(cfg)
	state := t.TempDir()
	bin := testutil.BinDir(t, "survivor")
	self, _ := os.Executable()
	child := exec.Command(self, "-test.run=^$")
	child.Env = append(os.Environ(), "WATCHDOG_CHILD_SUPERVISOR="+string(data), "CHILD_STATE="+state, "CHILD_BIN="+bin)
	out, _ := child.StdoutPipe()
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(out, buf); err != nil || string(buf) != "READY" {
		t.Fatalf("child supervisor: %q %v", buf, err)
	}
	var ids struct{ PID, PPID int }
	getJSON(t, s.URL()+"/pid", &ids)
	t.Cleanup(func() { _ = syscall.Kill(ids.PID, syscall.SIGKILL) })
	_ = child.Process.Kill() // kill -9 the supervisor
	_ = child.Wait()
	testutil.Eventually(t, wait, func() bool { return !testutil.ProcessAlive(ids.PPID) }, "the direct child to die with its parent (Pdeathsig)")
	if !testutil.ProcessAlive(ids.PID) {
		t.Fatal("the grandchild died too: this test needs a survivor")
	}
	// Next launch: the sweep ends the leftover, the sidecar gets its own port.
	ended, _, err := SweepOrphans(filepath.Join(state, supervisor.StateFileName), 2*time.Second, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil || len(ended) != 1 {
		t.Fatalf("SweepOrphans = %v, %v", ended, err)
	}
	testutil.Eventually(t, wait, func() bool { return !testutil.ProcessAlive(ids.PID) }, "leftover grandchild to be ended")
	r := newRig(t, s)
	if err := r.sup.Start(context.Background(), "survivor"); err != nil {
		t.Fatal(err)
	}
	if st := r.ready("survivor"); st.Port != s.Port || st.Reason != "" {
		t.Fatalf("port %d (%q), want its own port %d", st.Port, st.Reason, s.Port)
	}
}

func getJSON(t testing.TB, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

func post(t testing.TB, url string) {
	resp, err := http.Post(url, "text/plain", nil)
	if err == nil {
		resp.Body.Close()
	}
}

func TestAdoptedLeftoverIsWatchedAndRestartedBySweep(t *testing.T) {
	s := spec(t, "keeper")
	s.Adopt = true
	// The "earlier run": the fixture serving on the sidecar's port, recorded.
	cmd := exec.Command(testutil.BuildFixture(t))
	cmd.Env = append(os.Environ(), "APP_PORT="+strconv.Itoa(s.Port))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	reaped := make(chan struct{})
	go func() { _ = cmd.Wait(); close(reaped) }() // as init would
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-reaped })
	ct, err := proc.CreateTime(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), supervisor.StateFileName)
	sf, _ := proc.OpenStateFile(path)
	if err := sf.Put(proc.Record{Name: "keeper", PID: cmd.Process.Pid, PGID: cmd.Process.Pid, CreateTime: ct,
		Port: s.Port, StartedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	ended, adopted, err := SweepOrphans(path, time.Second, map[string]bool{"keeper": true}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil || len(ended) != 0 || len(adopted) != 1 {
		t.Fatalf("SweepOrphans = %v, %v, %v", ended, adopted, err)
	}
	r := newRigWith(t, supervisor.Options{Adopt: adopted}, s)
	st := r.ready("keeper")
	if st.PID != cmd.Process.Pid || !strings.Contains(st.Reason, "adopted") {
		t.Fatalf("adopted status = %+v", st)
	}
	// Not our child, so no Wait reports its death: the sweep must.
	_ = cmd.Process.Kill()
	st = r.until("restarted after the adopted process died", func(n supervisor.Status) bool {
		return n.State == supervisor.Ready && n.PID != cmd.Process.Pid
	}, "keeper")
	if st.Restarts != 1 {
		t.Fatalf("after the adopted process died: %+v", st)
	}
}

// countingTarget counts sweeps (one Snapshot each) and says when one ran.
type countingTarget struct {
	fakeTarget
	sweeps chan struct{}
}

func (c *countingTarget) Snapshot() []supervisor.Status {
	select {
	case c.sweeps <- struct{}{}:
	default:
	}
	return c.fakeTarget.Snapshot()
}

// TestWatchIsCounted: the fastest watcher's rate applies, the idle period
// comes back when the last one leaves, cancel is idempotent, and a new
// watcher gets a sweep at once even when the idle period is an hour.
func TestWatchIsCounted(t *testing.T) {
	c := &countingTarget{fakeTarget: fakeTarget{gone: map[string]string{}}, sweeps: make(chan struct{}, 1)}
	w := New(c, time.Second, slog.New(slog.NewTextHandler(io.Discard, nil)))
	w.idle = time.Hour
	if p, watched := w.period(); p != time.Hour || watched {
		t.Fatalf("unwatched period %s %v", p, watched)
	}
	slow := w.Watch(500 * time.Millisecond)
	fast := w.Watch(10 * time.Millisecond)
	if p, watched := w.period(); p != 10*time.Millisecond || !watched {
		t.Fatalf("two watchers: period %s %v", p, watched)
	}
	fast()
	fast() // a second cancel must not remove the other watcher
	if p, _ := w.period(); p != 500*time.Millisecond {
		t.Fatalf("after the fast one left: period %s", p)
	}
	slow()
	if p, watched := w.period(); p != time.Hour || watched {
		t.Fatalf("after both left: period %s %v", p, watched)
	}
	if d := w.Watch(0); true {
		if p, _ := w.period(); p != time.Second {
			t.Fatalf("Watch(0) = %s, want New's interval", p)
		}
		d()
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	defer func() { cancel(); <-done }()
	// With an idle period of an hour, only this can make sweeps: the first
	// at once, then at the watcher's rate.
	stop := w.Watch(5 * time.Millisecond)
	for range 3 {
		select {
		case <-c.sweeps:
		case <-time.After(wait):
			t.Fatal("no sweep while watched")
		}
	}
	stop()
}

// TestOnWatchedFollowsTheWatchers: Run says at once that nobody watches,
// then each change of "anyone watches", in order, and nothing for a
// second watcher or for one of two leaving.
func TestOnWatchedFollowsTheWatchers(t *testing.T) {
	c := &countingTarget{fakeTarget: fakeTarget{gone: map[string]string{}}, sweeps: make(chan struct{}, 1)}
	w := New(c, time.Second, slog.New(slog.NewTextHandler(io.Discard, nil)))
	w.idle = time.Hour
	said := make(chan bool, 16)
	w.OnWatched(func(watched bool) { said <- watched })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	defer func() { cancel(); <-done }()
	expect := func(want bool) {
		t.Helper()
		select {
		case got := <-said:
			if got != want {
				t.Fatalf("OnWatched(%v), want %v", got, want)
			}
		case <-time.After(wait):
			t.Fatalf("no OnWatched(%v)", want)
		}
	}
	expect(false)
	a := w.Watch(time.Hour)
	expect(true)
	b := w.Watch(time.Hour)
	a()
	b()
	expect(false)
	d := w.Watch(time.Hour)
	expect(true)
	d()
	expect(false)
	select {
	case got := <-said:
		t.Fatalf("an extra OnWatched(%v)", got)
	default:
	}
}

// TestUnwatchedCheckSeesZombieReusedAndGone: the sweep while nobody watches
// (no metrics, one stat read per known process) still tells a zombie, a
// reused pid and a process that has gone, and leaves a live one alone, on
// its first look and on later ones.
func TestUnwatchedCheckSeesZombieReusedAndGone(t *testing.T) {
	start := func() *exec.Cmd {
		c := exec.Command("sleep", "60")
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		return c
	}
	zombie, other, live := start(), start(), start()
	defer func() {
		for _, c := range []*exec.Cmd{zombie, other, live} {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
	}()
	ct := func(c *exec.Cmd) int64 {
		v, err := proc.CreateTime(c.Process.Pid)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	f := &fakeTarget{gone: map[string]string{}, statuses: []supervisor.Status{
		{Name: "z", PID: zombie.Process.Pid, PGID: zombie.Process.Pid, CreateTime: ct(zombie)},
		{Name: "reused", PID: other.Process.Pid, PGID: other.Process.Pid, CreateTime: 12345},
		{Name: "live", PID: live.Process.Pid, PGID: live.Process.Pid, CreateTime: ct(live)},
	}}
	w := New(f, time.Second, slog.New(slog.NewTextHandler(io.Discard, nil)))
	w.check()
	w.check() // the live one is now known: one stat read
	if len(f.gone) != 1 || f.gone["reused"] != proc.Replaced.String() {
		t.Fatalf("reports %v, want only the reused pid", f.gone)
	}
	_ = zombie.Process.Kill() // not reaped: a zombie
	testutil.Eventually(t, wait, func() bool { return proc.Check(zombie.Process.Pid, f.statuses[0].CreateTime) == proc.Zombie }, "child to become a zombie")
	_ = live.Process.Kill()
	_ = live.Wait() // reaped: gone
	w.check()
	if f.gone["z"] != proc.Zombie.String() {
		t.Errorf("zombie reported as %q", f.gone["z"])
	}
	if f.gone["live"] != proc.Gone.String() {
		t.Errorf("ended process reported as %q", f.gone["live"])
	}
}
