//go:build linux

package supervisor

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"outrigger/core/config"
	"outrigger/core/proc"
	"outrigger/internal/testutil"
)

// alwaysRestart restarts at once after every crash.
type alwaysRestart struct{}

func (alwaysRestart) Ready(time.Time) {}
func (alwaysRestart) Reset()          {}
func (alwaysRestart) Exited(ExitInfo, time.Time) Decision {
	return Decision{Restart: true, Attempt: 1, Reason: "restarting now"}
}

// withGuardian starts a real guardian (this test binary in guardian mode),
// which also makes us the subreaper of the sidecars' orphans.
func withGuardian(t *testing.T) *proc.Guardian {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	g, err := proc.StartGuardian(exe)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })
	return g
}

// servingPID asks whoever serves the port for its pid and parent pid.
func servingPID(t *testing.T, port int) (pid, ppid int) {
	t.Helper()
	var ids struct{ PID, PPID int }
	getJSON(t, fmt.Sprintf("http://127.0.0.1:%d/pid", port), &ids)
	return ids.PID, ids.PPID
}

// zombieChildren lists our children that have exited and nobody reaped.
func zombieChildren() []int {
	var out []int
	self := os.Getpid()
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := proc.ReadStat(pid); err == nil && st.PPID == self && st.State == 'Z' {
			out = append(out, pid)
		}
	}
	return out
}

func waitGone(t *testing.T, pid int, what string) {
	t.Helper()
	testutil.Eventually(t, wait, func() bool { return !testutil.ProcessAlive(pid) }, "%s (pid %d) to be gone", what, pid)
	testutil.Eventually(t, wait, func() bool {
		st, err := proc.ReadStat(pid)
		return err != nil || st.PPID != os.Getpid()
	}, "%s (pid %d) to be reaped, not left a zombie of ours", what, pid)
}

func TestDaemonizingSidecarLeavesNothingAfterStop(t *testing.T) {
	for _, stubborn := range []bool{false, true} {
		t.Run(fmt.Sprintf("ignores-sigterm=%v", stubborn), func(t *testing.T) {
			args := []string{"-daemonize"}
			if stubborn {
				args = append(args, "-ignore-sigterm")
			}
			spec := fixtureSpec(t, "daemon", args...)
			spec.StopTimeout = 500 * time.Millisecond
			h := newHarness(t, Options{Guardian: withGuardian(t)}, spec)
			h.start("daemon")
			st := h.ready("daemon")
			daemon, ppid := servingPID(t, st.Port)
			if daemon == st.PID {
				t.Fatalf("the leader %d serves: the fixture did not daemonize", daemon)
			}
			// Once the middle process of the double fork has exited, the
			// daemon's parent is us, its subreaper.
			testutil.Eventually(t, wait, func() bool {
				st, err := proc.ReadStat(daemon)
				ppid = st.PPID
				return err == nil && ppid == os.Getpid()
			}, "the daemon's parent (%d) to be us (%d), its subreaper", ppid, os.Getpid())
			// Double fork: the daemon's parent made a session (and group) of
			// its own, then exited.
			if rs, err := proc.ReadStat(daemon); err != nil || rs.PGID == st.PGID || rs.SID != rs.PGID || rs.SID == daemon {
				t.Fatalf("daemon %+v (%v): want it in a session of its own, outside group %d", rs, err, st.PGID)
			}
			h.stop("daemon")
			if testutil.ProcessAlive(daemon) {
				t.Fatalf("daemon %d alive after Stop returned", daemon)
			}
			waitGone(t, daemon, "the daemon")
			if !portFree("127.0.0.1", st.Port) {
				t.Fatalf("port %d still taken after Stop", st.Port)
			}
		})
	}
}

func TestDaemonOfCrashedLeaderIsEndedBeforeTheRestart(t *testing.T) {
	spec := fixtureSpec(t, "daemon", "-daemonize")
	h := newHarness(t, Options{Guardian: withGuardian(t), Policy: func(config.Spec) RestartPolicy { return alwaysRestart{} }}, spec)
	h.start("daemon")
	st := h.ready("daemon")
	old, _ := servingPID(t, st.Port)
	if err := syscall.Kill(st.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	next := h.waitEvent("a new run started", func(e Event) bool {
		return e.Sidecar == "daemon" && e.Status.State == Starting && e.Status.PID != st.PID && e.Status.PID > 0
	})
	// The old daemon was gone before the new run began: the new one got the
	// sidecar's own port back (a busy port would have moved it).
	if testutil.ProcessAlive(old) {
		t.Fatalf("old daemon %d alive when the new run started", old)
	}
	if next.Status.Port != spec.Port || next.Status.Reason != "" {
		t.Fatalf("new run on port %d (reason %q), want its own port %d", next.Status.Port, next.Status.Reason, spec.Port)
	}
	now := h.ready("daemon")
	if d, _ := servingPID(t, now.Port); d == old {
		t.Fatalf("the old daemon %d still serves", old)
	}
	waitGone(t, old, "the old daemon")
}

func TestNoZombiesFromDaemonsAndGrandchildren(t *testing.T) {
	a := fixtureSpec(t, "daemon", "-daemonize")
	b := fixtureSpec(t, "onefile", "-fork-grandchild")
	h := newHarness(t, Options{Guardian: withGuardian(t), Policy: func(config.Spec) RestartPolicy { return alwaysRestart{} }}, a, b)
	h.start("daemon")
	h.start("onefile")
	for i := 0; i < 3; i++ {
		for _, n := range []string{"daemon", "onefile"} {
			st := h.ready(n)
			pid, _ := servingPID(t, st.Port)
			// Kill the server (daemon or grandchild): the leader lives on
			// until liveness or a stop; Restart ends it all.
			_ = syscall.Kill(pid, syscall.SIGKILL)
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			err := h.sup.Restart(ctx, n)
			cancel()
			if err != nil {
				t.Fatalf("restart %s: %v", n, err)
			}
		}
	}
	for _, n := range []string{"daemon", "onefile"} {
		h.ready(n)
		h.stop(n)
	}
	var z []int
	deadline := time.Now().Add(wait)
	for z = zombieChildren(); len(z) > 0 && time.Now().Before(deadline); z = zombieChildren() {
		time.Sleep(50 * time.Millisecond) // the reaper's pass: no event to wait on from here
	}
	for _, pid := range z {
		st, _ := proc.ReadStat(pid)
		t.Errorf("zombie %+v", st)
	}
}

// TestTokenIsPerRun checks the run token reaches the sidecar and differs
// between runs, so a restart never confuses the old run's daemon with the
// new one's.
func TestTokenIsPerRun(t *testing.T) {
	spec := fixtureSpec(t, "tok")
	h := newHarness(t, Options{}, spec)
	var tokens []string
	for i := 0; i < 2; i++ {
		h.start("tok")
		st := h.ready("tok")
		var env map[string]string
		getJSON(t, fmt.Sprintf("http://127.0.0.1:%d/env", st.Port), &env)
		tok := env[proc.TreeEnv]
		if len(tok) < 16 || strings.ContainsAny(tok, " \n") {
			t.Fatalf("run token %q", tok)
		}
		if rec, ok := h.sup.state.Get("tok"); !ok || rec.Token != tok {
			t.Fatalf("state file record token %q, want %q", rec.Token, tok)
		}
		tokens = append(tokens, tok)
		h.stop("tok")
	}
	if tokens[0] == tokens[1] {
		t.Fatalf("two runs share token %q", tokens[0])
	}
}

// daemonIdent is the serving daemon's pid and start ticks: a pid alone may
// be reused.
func daemonIdent(t *testing.T, port int) (pid int, start uint64) {
	t.Helper()
	pid, _ = servingPID(t, port)
	st, err := proc.ReadStat(pid)
	if err != nil {
		t.Fatal(err)
	}
	return pid, st.StartTicks
}

func sameProcessAlive(pid int, start uint64) bool {
	st, err := proc.ReadStat(pid)
	return err == nil && st.StartTicks == start && st.State != 'Z'
}

func cgroupGone(dir string) bool {
	_, err := os.Stat(dir)
	return os.IsNotExist(err)
}

// TestEnvClearingDaemonLeavesNothingAfterStop: `(env -i setsid server &)`
// — nothing of the run's environment reaches the daemon, and it is out of
// the group before any scan could see it — is ended by Stop, which returns
// only once it is gone; the run's cgroup is removed.
func TestEnvClearingDaemonLeavesNothingAfterStop(t *testing.T) {
	testutil.NeedCgroups(t)
	spec := fixtureSpec(t, "bare", "-daemonize-empty-env", "-ignore-sigterm")
	spec.StopTimeout = 500 * time.Millisecond
	h := newHarness(t, Options{Guardian: withGuardian(t)}, spec)
	h.start("bare")
	st := h.ready("bare")
	daemon, start := daemonIdent(t, st.Port)
	t.Cleanup(func() { _ = syscall.Kill(daemon, syscall.SIGKILL) })
	if daemon == st.PID {
		t.Fatalf("the leader %d serves: the fixture did not daemonize", daemon)
	}
	rec, _ := h.sup.state.Get("bare")
	h.stop("bare")
	if sameProcessAlive(daemon, start) {
		t.Fatalf("daemon %d alive after Stop returned", daemon)
	}
	waitGone(t, daemon, "the daemon")
	if rec.Cgroup == "" {
		t.Fatalf("state file record %+v: want the run's cgroup", rec)
	}
	if !cgroupGone(rec.Cgroup) {
		t.Fatalf("cgroup %s left after Stop", rec.Cgroup)
	}
	if !portFree("127.0.0.1", st.Port) {
		t.Fatalf("port %d still taken after Stop", st.Port)
	}
}

// TestEnvClearingDaemonOfCrashedLeaderIsEndedBeforeTheRestart: the leader
// crashes; the restart begins only once the old daemon is gone, so the new
// run gets the sidecar's own port back.
func TestEnvClearingDaemonOfCrashedLeaderIsEndedBeforeTheRestart(t *testing.T) {
	testutil.NeedCgroups(t)
	spec := fixtureSpec(t, "bare", "-daemonize-empty-env")
	h := newHarness(t, Options{Guardian: withGuardian(t), Policy: func(config.Spec) RestartPolicy { return alwaysRestart{} }}, spec)
	h.start("bare")
	st := h.ready("bare")
	old, start := daemonIdent(t, st.Port)
	t.Cleanup(func() {
		if sameProcessAlive(old, start) {
			_ = syscall.Kill(old, syscall.SIGKILL)
		}
	})
	rec, _ := h.sup.state.Get("bare")
	if err := syscall.Kill(st.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	next := h.waitEvent("a new run started", func(e Event) bool {
		return e.Sidecar == "bare" && e.Status.State == Starting && e.Status.PID != st.PID && e.Status.PID > 0
	})
	if sameProcessAlive(old, start) {
		t.Fatalf("old daemon %d alive when the new run started", old)
	}
	if rec.Cgroup == "" || !cgroupGone(rec.Cgroup) {
		t.Fatalf("the old run's cgroup %q still there when the new run started", rec.Cgroup)
	}
	if next.Status.Port != spec.Port || next.Status.Reason != "" {
		t.Fatalf("new run on port %d (reason %q), want its own port %d", next.Status.Port, next.Status.Reason, spec.Port)
	}
	now := h.ready("bare")
	if d, _ := servingPID(t, now.Port); d == old {
		t.Fatalf("the old daemon %d still serves", old)
	}
	waitGone(t, old, "the old daemon")
	h.stop("bare")
}
