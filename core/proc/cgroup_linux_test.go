package proc_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"outrigger/core/proc"
	"outrigger/internal/testutil"
)

// ident is a process named by pid and start ticks.
type ident struct {
	pid   int
	start uint64
}

func identOf(t *testing.T, pid int) ident {
	t.Helper()
	st, err := proc.ReadStat(pid)
	if err != nil {
		t.Fatalf("process %d: %v", pid, err)
	}
	return ident{pid, st.StartTicks}
}

// alive: the same process (pid + start ticks) still runs.
func (p ident) alive() bool {
	st, err := proc.ReadStat(p.pid)
	return err == nil && st.StartTicks == p.start && st.State != 'Z'
}

func waitEnded(t *testing.T, p ident, what string) {
	t.Helper()
	testutil.Eventually(t, wait, func() bool { return !p.alive() }, "%s (pid %d) to be ended", what, p.pid)
}

func dirGone(dir string) bool {
	_, err := os.Stat(dir)
	return os.IsNotExist(err)
}

// startBareDaemon starts the fixture with -daemonize-empty-env the way the
// supervisor starts a run (Prepare, Start, Attach), and returns it with
// its daemon, whose environment is empty: no token.
func startBareDaemon(t *testing.T, args ...string) (*child, *proc.Tree, ident) {
	t.Helper()
	bin := testutil.BuildFixture(t)
	c := &child{stdout: filepath.Join(t.TempDir(), "stdout"), done: make(chan struct{})}
	out, err := os.Create(c.stdout)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	c.cmd = exec.Command(bin, append([]string{"-daemonize-empty-env"}, args...)...)
	c.cmd.Env = append(os.Environ(), "APP_PORT="+strconv.Itoa(testutil.FreePort(t)), "OUTRIGGER_SIDECAR=bare daemon")
	c.cmd.Stdout, c.cmd.Stderr = out, out
	proc.Prepare(c.cmd)
	if err := proc.Start(c.cmd); err != nil {
		t.Fatal(err)
	}
	tree, err := proc.Attach(c.cmd)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = c.cmd.Wait()
		c.state = c.cmd.ProcessState
		close(c.done)
	}()
	t.Cleanup(func() {
		_ = tree.Kill()
		<-c.done
		testutil.Eventually(t, wait, func() bool { return !proc.Lingering(tree) }, "the run to end")
		_ = tree.Close()
	})
	c.waitOutput(t, "daemonized")
	d := daemonOf(t, c)
	daemon := identOf(t, d)
	t.Cleanup(func() {
		if daemon.alive() {
			_ = syscall.Kill(daemon.pid, syscall.SIGKILL)
		}
	})
	env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", d))
	if err != nil || len(env) != 0 {
		t.Fatalf("the daemon's environment: %q (%v), want it empty", env, err)
	}
	return c, tree, daemon
}

// TestCgroupHoldsAnEnvClearingDaemon: a daemon that left the group and
// cleared its environment at once is a member of its run (its cgroup),
// Terminate ends it, the run lingers until it is gone, and Close removes
// the cgroup.
func TestCgroupHoldsAnEnvClearingDaemon(t *testing.T) {
	testutil.NeedCgroups(t)
	c, tree, daemon := startBareDaemon(t)
	dir := proc.TreeCgroup(tree)
	found := false
	for _, m := range tree.Members() {
		found = found || m.PID == daemon.pid && m.Start == daemon.start
	}
	if !found {
		t.Fatalf("daemon %d not among the members %v", daemon.pid, tree.Members())
	}
	if err := tree.Terminate(); err != nil {
		t.Fatal(err)
	}
	c.waitExit(t)
	waitEnded(t, daemon, "the env-clearing daemon")
	testutil.Eventually(t, wait, func() bool { return !proc.Lingering(tree) }, "the run to stop lingering")
	if dir == "" || !strings.HasPrefix(filepath.Base(dir), fmt.Sprintf("outrigger-%d-", os.Getpid())) || !strings.HasSuffix(dir, "-bare_daemon") {
		t.Fatalf("run cgroup %q: want outrigger-<our pid>-…-bare_daemon", dir)
	}
	if err := tree.Close(); err != nil {
		t.Fatal(err)
	}
	if !dirGone(dir) {
		t.Fatalf("cgroup %s left after Close", dir)
	}
}

// TestGuardianEndsACgroup: told a run's cgroup, the guardian ends every
// process in it (one that ignores SIGTERM by the cgroup's SIGKILL) and
// removes it.
func TestGuardianEndsACgroup(t *testing.T) {
	testutil.NeedCgroups(t)
	c, tree, daemon := startBareDaemon(t, "-ignore-sigterm", "-ignore-sigpipe")
	dir := proc.TreeCgroup(tree)
	w := proc.NewWatched(c.pid(), createTime(t, c.pid()), "", nil).WithCgroup(dir)
	proc.EndTrees(map[int]*proc.Watched{tree.PGID: w}, 300*time.Millisecond)
	waitEnded(t, daemon, "the env-clearing daemon")
	c.waitExit(t)
	testutil.Eventually(t, wait, func() bool { return dirGone(dir) }, "cgroup %s to be removed", dir)
}

func TestGuardianReadsTheCgroupLine(t *testing.T) {
	trees := proc.ReadWatch(strings.NewReader("+ 100 100 5 tok\nc 100 /sys/fs/cgroup/a b/outrigger-1-2-3-x\nc 200 /nowhere\nc 100 relative\n"))
	if got := trees[100].Cgroup(); got != "/sys/fs/cgroup/a b/outrigger-1-2-3-x" {
		t.Fatalf("cgroup %q", got)
	}
	if len(trees) != 1 {
		t.Fatalf("trees %v: a cgroup line of an unknown tree made one", trees)
	}
}

// TestSweepEndsADeadInstancesCgroup: an app (a child test process) starts
// a run whose daemon clears its environment, and is killed -9 with no
// guardian. The daemon survives that (its leader dies by its parent-death
// signal). The next launch's sweep ends it, by the state file's record or,
// with no record, by finding the dead instance's cgroup.
func TestSweepEndsADeadInstancesCgroup(t *testing.T) {
	if os.Getenv("PROC_CGROUP_APP") == "1" {
		cgroupApp()
		return
	}
	testutil.NeedCgroups(t)
	for _, how := range []string{"record", "no record"} {
		t.Run(how, func(t *testing.T) {
			dir, daemon, daemonLog := killedAppWithBareDaemon(t)
			if !daemon.alive() {
				said, _ := os.ReadFile(daemonLog)
				t.Fatalf("the daemon died with the app: nothing for the sweep to do, the test proves nothing; the daemon said: %q", said)
			}
			if how == "record" {
				ended, err := proc.EndLeftover(proc.Record{Name: "bare", PID: 99999999, PGID: 99999999, CreateTime: 1, Cgroup: dir}, wait)
				if !ended || err != nil {
					t.Fatalf("EndLeftover: ended %v, err %v", ended, err)
				}
			} else {
				dirs, err := proc.EndLeftoverCgroups(wait, nil)
				if err != nil {
					t.Fatal(err)
				}
				has := false
				for _, d := range dirs {
					has = has || d == dir
				}
				if !has {
					t.Fatalf("EndLeftoverCgroups ended %v, not %s", dirs, dir)
				}
			}
			waitEnded(t, daemon, "the daemon of the killed app")
			testutil.Eventually(t, wait, func() bool { return dirGone(dir) }, "cgroup %s to be removed", dir)
		})
	}
}

// TestSweepLeavesLiveInstancesAlone: a run cgroup of a live app instance
// (ours) is not a leftover, record or not.
func TestSweepLeavesLiveInstancesAlone(t *testing.T) {
	testutil.NeedCgroups(t)
	_, tree, daemon := startBareDaemon(t)
	dir := proc.TreeCgroup(tree)
	if _, err := proc.EndLeftoverCgroups(time.Second, nil); err != nil {
		t.Fatal(err)
	}
	if ended, _ := proc.EndLeftover(proc.Record{Name: "live", PID: 99999999, PGID: 99999999, CreateTime: 1, Cgroup: dir}, time.Second); ended {
		t.Fatal("EndLeftover ended a live instance's run")
	}
	if !daemon.alive() || dirGone(dir) {
		t.Fatalf("a live instance's run was touched: daemon alive %v, cgroup gone %v", daemon.alive(), dirGone(dir))
	}
}

// killedAppWithBareDaemon runs cgroupApp in a child test process, kills it
// -9 once its run's daemon is up, and returns the run's cgroup and daemon.
func killedAppWithBareDaemon(t *testing.T) (dir string, daemon ident, daemonLog string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "fixture-out")
	app := exec.Command(self, "-test.run=^TestSweepEndsADeadInstancesCgroup$", "-test.count=1")
	app.Env = append(os.Environ(), "PROC_CGROUP_APP=1", "FIXTURE="+testutil.BuildFixture(t), "FIXTURE_OUT="+out,
		"APP_PORT="+strconv.Itoa(testutil.FreePort(t)))
	app.Stderr = os.Stderr
	pipe, err := app.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = app.Process.Kill(); _ = app.Wait() })
	sc := bufio.NewScanner(pipe)
	for dir == "" && sc.Scan() {
		dir, _ = strings.CutPrefix(sc.Text(), "CGROUP ")
	}
	if dir == "" {
		t.Fatal("the app printed no cgroup")
	}
	c := &child{stdout: out}
	c.waitOutput(t, "daemonized")
	daemon = identOf(t, daemonOf(t, c))
	t.Cleanup(func() {
		if daemon.alive() {
			_ = syscall.Kill(daemon.pid, syscall.SIGKILL)
		}
		_, _ = proc.EndLeftoverCgroups(0, nil)
	})
	_ = app.Process.Kill()
	_ = app.Wait()
	return dir, daemon, out + ".daemon"
}

func cgroupApp() {
	out, err := os.Create(os.Getenv("FIXTURE_OUT"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cmd := exec.Command(os.Getenv("FIXTURE"), "-daemonize-empty-env", "-daemon-log="+os.Getenv("FIXTURE_OUT")+".daemon")
	cmd.Stdout, cmd.Stderr = out, out
	proc.Prepare(cmd)
	if err := proc.Start(cmd); err != nil {
		fmt.Fprintln(os.Stderr, "start:", err)
		os.Exit(1)
	}
	tree, err := proc.Attach(cmd)
	if err != nil || proc.TreeCgroup(tree) == "" {
		fmt.Fprintln(os.Stderr, "attach:", err, "cgroup:", proc.TreeCgroup(tree))
		os.Exit(1)
	}
	fmt.Printf("CGROUP %s\n", proc.TreeCgroup(tree))
	// Until killed. Not select {}: with every goroutine blocked (the
	// spawner thread waits on a channel) the runtime calls that a deadlock
	// and exits, taking the run with it (1 run of make test in 14).
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	<-sig
	os.Exit(0)
}

// TestAdoptedCgroupIsOurs: a dead instance's run that this one adopts is
// held by its cgroup, which no sweep (ours or another instance's) takes
// for a leftover from then on; Kill ends all of it.
func TestAdoptedCgroupIsOurs(t *testing.T) {
	testutil.NeedCgroups(t)
	dir, daemon, _ := killedAppWithBareDaemon(t)
	rec := proc.Record{Name: "bare", PID: 99999999, PGID: 99999999, CreateTime: 1, Cgroup: dir}
	tree := proc.AdoptTree(rec)
	if proc.TreeCgroup(tree) != dir {
		t.Fatalf("adopted tree's cgroup %q, want %s", proc.TreeCgroup(tree), dir)
	}
	if _, err := proc.EndLeftoverCgroups(time.Second, nil); err != nil {
		t.Fatal(err)
	}
	if ended, _ := proc.EndLeftover(rec, time.Second); ended || !daemon.alive() {
		t.Fatalf("a sweep ended an adopted run (EndLeftover %v, daemon alive %v)", ended, daemon.alive())
	}
	if err := tree.Kill(); err != nil {
		t.Fatal(err)
	}
	waitEnded(t, daemon, "the adopted run's daemon")
	testutil.Eventually(t, wait, func() bool { return !proc.Lingering(tree) }, "the adopted run to end")
	if err := tree.Close(); err != nil || !dirGone(dir) {
		t.Fatalf("Close: %v; cgroup gone %v", err, dirGone(dir))
	}
}

// A member the kernel already took out of cgroup.procs because it is
// exiting, but which is no zombie yet, is still a member: the run lingers
// until it is one. Forgotten by the scan right after cgroup.kill (before),
// it let Stop return with a killed daemon still alive (loop run 7 of round
// six). One that left the cgroup alive (moved by someone else) or whose
// pid was reused is not ours.
func TestCgroupMembersKeepAnExitingOne(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte("100\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	stats := map[int]proc.Stat{
		100: {PID: 100, State: 'S', StartTicks: 5},
		200: {PID: 200, State: 'R', Flags: 0x4, StartTicks: 7}, // PF_EXITING
		300: {PID: 300, State: 'Z', StartTicks: 8},
		400: {PID: 400, State: 'S', StartTicks: 9},             // moved to another cgroup
		500: {PID: 500, State: 'R', Flags: 0x4, StartTicks: 1}, // pid reused
	}
	known := map[int]uint64{200: 7, 300: 8, 400: 9, 500: 10}
	got := map[int]proc.Member{}
	for _, m := range proc.CgroupMembersFrom(dir, stats, stats, known) {
		got[m.PID] = m
	}
	want := map[int]bool{100: false, 200: false, 300: true} // pid → zombie
	if len(got) != len(want) {
		t.Fatalf("members %v, want pids 100, 200 (exiting) and 300 (zombie)", got)
	}
	for pid, zombie := range want {
		if m, ok := got[pid]; !ok || m.Zombie != zombie {
			t.Errorf("member %d: %+v (present %v), want zombie %v", pid, m, ok, zombie)
		}
	}
}

// TestCgroupMembersReadALeaverNow: the containment pass reads /proc, then
// each run's cgroup.procs. A member that began to exit in between is in
// that read alive and not exiting, out of cgroup.procs: whether it left
// the cgroup alive or is on its way out is told by a read made after
// cgroup.procs, not by the older one.
func TestCgroupMembersReadALeaverNow(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte("100\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	before := map[int]proc.Stat{
		100: {PID: 100, State: 'S', StartTicks: 5},
		200: {PID: 200, State: 'S', StartTicks: 7}, // the daemon, before SIGTERM
		300: {PID: 300, State: 'S', StartTicks: 8},
	}
	now := map[int]proc.Stat{
		100: {PID: 100, State: 'S', StartTicks: 5},
		200: {PID: 200, State: 'R', Flags: 0x4, StartTicks: 7}, // PF_EXITING
		300: {PID: 300, State: 'Z', StartTicks: 8},
	}
	got := map[int]proc.Member{}
	for _, m := range proc.CgroupMembersFrom(dir, before, now, map[int]uint64{200: 7, 300: 8}) {
		got[m.PID] = m
	}
	if _, ok := got[200]; !ok || got[200].Zombie {
		t.Errorf("the exiting member: %+v (present %v), want it kept, not a zombie; members %v", got[200], ok, got)
	}
	if m, ok := got[300]; !ok || !m.Zombie {
		t.Errorf("the exited member: %+v (present %v), want it kept as a zombie; members %v", m, ok, got)
	}
}
