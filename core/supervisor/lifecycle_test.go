//go:build linux

package supervisor

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"outrigger/core/config"
	"outrigger/core/proc"
	"outrigger/internal/testutil"
)

// ringHas reports whether a line of name's ring contains s.
func ringHas(h *harness, name, s string) bool {
	for _, l := range h.sup.Logs(name).Lines() {
		if strings.Contains(l.Text, s) {
			return true
		}
	}
	return false
}

// TestStopGraceOutlivesTheLeader: a Stop gives the whole group its
// stop_timeout, also when the leader exits at once on SIGTERM and the
// server it started (a launcher, a shell wrapper, a --onefile bootloader
// that does not forward signals) takes a few seconds to drain. Before, the
// run's readers were forced closed 2 s after the leader's exit, and the
// group SIGKILLed with them: the server's drain cut short at 2 s with a
// stop_timeout of a minute, its last lines lost.
func TestStopGraceOutlivesTheLeader(t *testing.T) {
	x := fixtureSpec(t, "drain", "-fork-grandchild", "-shutdown-delay", "5s")
	x.StopTimeout = time.Minute
	h := newHarness(t, Options{}, x)
	h.start("drain")
	st := h.ready("drain")
	server, ppid := servingPID(t, st.Port)
	if ppid != st.PID {
		t.Fatalf("the server %d is the child of %d, want of the leader %d", server, ppid, st.PID)
	}
	h.track(server)
	h.stop("drain")
	if !ringHas(h, "drain", "fixture: shut down after 5s") {
		t.Fatalf("the server's drain was cut short: no shut-down line; its last lines:\n%s", tail(h, "drain", 10))
	}
	s, _ := h.sup.Status("drain")
	if s.State != Stopped {
		t.Fatalf("state %s after Stop, want stopped", s.State)
	}
}

// tail is name's last n ring lines, for a failure message.
func tail(h *harness, name string, n int) string {
	ls := h.sup.Logs(name).Lines()
	var b strings.Builder
	for _, l := range ls[max(0, len(ls)-n):] {
		b.WriteString(l.Text)
		b.WriteByte('\n')
	}
	return b.String()
}

// TestRestartDuringAnEndWeBegan: a user's Restart that arrives while the
// supervisor is itself ending the run — for failing liveness, or for not
// becoming ready within startup_timeout — restarts it, as a Restart of a
// running sidecar does. Before, the run's own ending won: with no restart
// policy the sidecar went Exited (the Restart answered nil, nothing
// started), after a startup timeout Failed (the Restart answered with the
// timeout). The old run ignores SIGTERM, so the Restart arrives within its
// stop_timeout.
func TestRestartDuringAnEndWeBegan(t *testing.T) {
	t.Run("failing liveness", func(t *testing.T) {
		x := fixtureSpec(t, "sickly", "-ignore-sigterm")
		x.StopTimeout = 6 * time.Second
		x.Liveness = config.LivenessSpec{Period: 200 * time.Millisecond, Timeout: time.Second, FailureThreshold: 2, SuccessThreshold: 1}
		h := newHarness(t, Options{}, x) // no policy: a crash is final
		h.start("sickly")
		first := h.ready("sickly")
		post(t, first.URL+"/sick")
		h.waitState("sickly", Unhealthy) // published as its end begins
		restartAndWaitReady(t, h, "sickly", first.PID)
	})
	t.Run("startup timeout", func(t *testing.T) {
		bind := filepath.Join(testutil.TempDir(t), "bind")
		x := fixtureSpec(t, "slow", "-ignore-sigterm", "-bind-after-file", bind)
		x.StopTimeout = 6 * time.Second
		x.StartupTimeout = time.Second
		h := newHarness(t, Options{}, x)
		h.start("slow")
		first := h.waitState("slow", Starting)
		h.waitEvent("the startup timeout's stop", func(e Event) bool {
			return e.Sidecar == "slow" && e.Status.State == Stopping && strings.Contains(e.Status.Reason, "startup_timeout")
		})
		if err := os.WriteFile(bind, nil, 0o600); err != nil { // the next run binds at once
			t.Fatal(err)
		}
		restartAndWaitReady(t, h, "slow", first.PID)
	})
}

// restartAndWaitReady restarts name and expects a new process to become
// Ready.
func restartAndWaitReady(t *testing.T, h *harness, name string, oldPID int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := h.sup.Restart(ctx, name); err != nil {
		st, _ := h.sup.Status(name)
		t.Fatalf("Restart: %v (state %s: %s)", err, st.State, st.Reason)
	}
	if err := h.sup.WaitReady(ctx, name); err != nil {
		t.Fatalf("after the Restart: %v", err)
	}
	st, _ := h.sup.Status(name)
	if st.PID == oldPID || st.PID == 0 || !st.Wanted {
		t.Fatalf("after the Restart: pid %d (was %d), wanted %v", st.PID, oldPID, st.Wanted)
	}
}

// TestLivenessEndNotCalledARestart: a run ended for failing liveness that
// is not restarted (no restart policy here) says that it ended, not that
// it was restarted. Before, an Exited sidecar's reason and last error read
// "restarted after failing liveness".
func TestLivenessEndNotCalledARestart(t *testing.T) {
	x := fixtureSpec(t, "sickly")
	x.Liveness = config.LivenessSpec{Period: 200 * time.Millisecond, Timeout: time.Second, FailureThreshold: 2, SuccessThreshold: 1}
	h := newHarness(t, Options{}, x)
	h.start("sickly")
	post(t, h.ready("sickly").URL+"/sick")
	st := h.waitState("sickly", Exited)
	for _, s := range []string{st.Reason, st.LastError} {
		if strings.Contains(s, "restarted") || !strings.Contains(s, "liveness") {
			t.Fatalf("exited, not restarted, after failing liveness; it says %q", s)
		}
	}
}

// laterRestart restarts after a fixed delay.
type laterRestart struct{ d time.Duration }

func (laterRestart) Ready(time.Time) {}
func (laterRestart) Reset()          {}
func (p laterRestart) Exited(ExitInfo, time.Time) Decision {
	return Decision{Restart: true, Delay: p.d, Attempt: 1, Reason: "restarting later"}
}

// TestQuitStartsNothing: a restart scheduled before the quit does not start
// the sidecar while the quit waits for its dependents to stop. Before, the
// backoff timer that fired then started a fresh process (stopped again
// once the quit reached it): quitting triggered a restart.
func TestQuitStartsNothing(t *testing.T) {
	dep := fixtureSpec(t, "dep")
	user := fixtureSpec(t, "user", "-ignore-sigterm")
	user.DependsOn = []string{"dep"}
	user.StopTimeout = 6 * time.Second // the quit stops dep only after this
	h := newHarness(t, Options{Policy: func(config.Spec) RestartPolicy { return laterRestart{2 * time.Second} }}, dep, user)
	if err := h.sup.StartGroup(context.Background(), []string{"user"}); err != nil {
		t.Fatal(err)
	}
	crashed := h.ready("dep")
	post(t, crashed.URL+"/crash")
	h.waitState("dep", Backoff)
	quit := time.Now()
	if err := h.sup.Close(); err != nil {
		t.Fatal(err)
	}
	for _, e := range h.events("dep") {
		if e.Time.After(quit) && e.Status.State == Starting {
			t.Fatalf("dep was started during the quit (pid %d, %s after it began)", e.Status.PID, e.Time.Sub(quit).Round(time.Millisecond))
		}
	}
	// Events may be coalesced; the last exit is not: still the crash's.
	st, _ := h.sup.Status("dep")
	if st.LastExit == nil || st.LastExit.Code != 1 || st.State.HasProcess() || st.State == Backoff {
		t.Fatalf("dep after the quit: %s, last exit %v; want the crash (exit code 1) as its last run", st.State, st.LastExit)
	}
}

// TestQuitFinishesNoRestart: a Restart under way when the quit begins, its
// old process still ending, does not start a new one once that process is
// gone: it is answered with an error. Before, the new process was started
// while the quit waited for the sidecar's dependents, and the Restart
// answered nil.
func TestQuitFinishesNoRestart(t *testing.T) {
	dep := fixtureSpec(t, "dep", "-ignore-sigterm")
	dep.StopTimeout = 5 * time.Second // the old process ends by SIGKILL then
	user := fixtureSpec(t, "user", "-ignore-sigterm")
	user.DependsOn = []string{"dep"}
	user.StopTimeout = 10 * time.Second // the quit reaches dep only after this
	h := newHarness(t, Options{}, dep, user)
	if err := h.sup.StartGroup(context.Background(), []string{"user"}); err != nil {
		t.Fatal(err)
	}
	restarted := make(chan error, 1)
	go func() { restarted <- h.sup.Restart(context.Background(), "dep") }()
	h.waitState("dep", Stopping)
	select {
	case err := <-restarted: // a machine so slow that dep's stop_timeout ran out first
		t.Skipf("the Restart finished (%v) before the quit began", err)
	default:
	}
	if err := h.sup.Close(); err != nil {
		t.Fatal(err)
	}
	err := <-restarted
	if err == nil {
		t.Fatal("the Restart answered nil: dep was started again during the quit")
	}
	if !strings.Contains(err.Error(), "quitting") && !strings.Contains(err.Error(), "closed") {
		t.Fatalf("Restart during the quit: %v", err)
	}
	if st, _ := h.sup.Status("dep"); st.State != Stopped || st.Wanted {
		t.Fatalf("dep after the quit: %s, wanted %v", st.State, st.Wanted)
	}
}

// TestAdoptedDaemonEndsWithTheStop: a run adopted from an earlier app
// instance is held by its recorded token too, so a Stop ends the daemon it
// left outside its group (a run without a cgroup: made where none could
// be, or by an instance that had none). Before, an adopted tree had no
// token: the Stop ended the group and returned with the daemon still
// serving, and the guardian could not have found it either.
func TestAdoptedDaemonEndsWithTheStop(t *testing.T) {
	x := fixtureSpec(t, "kept")
	tok := "adopt" + strconv.FormatInt(time.Now().UnixNano(), 16)
	out := filepath.Join(testutil.TempDir(t), "out")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// The earlier instance's run: a leader whose daemon serves the port.
	cmd := exec.Command(testutil.BuildFixture(t), "-daemonize")
	cmd.Env = append(os.Environ(), "APP_PORT="+strconv.Itoa(x.Port), proc.TreeEnv+"="+tok)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	reaped := make(chan struct{})
	go func() { _ = cmd.Wait(); close(reaped) }() // as init would
	daemon := 0
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		if daemon > 0 {
			_ = syscall.Kill(daemon, syscall.SIGKILL)
		}
		<-reaped
	})
	testutil.Eventually(t, wait, func() bool {
		data, _ := os.ReadFile(out)
		sc := bufio.NewScanner(strings.NewReader(string(data)))
		for sc.Scan() {
			if _, err := fmt.Sscanf(sc.Text(), "fixture: middle %d started daemon %d", new(int), &daemon); err == nil {
				return strings.Contains(string(data), "daemonized")
			}
		}
		return false
	}, "the leftover to daemonize")
	ct, err := proc.CreateTime(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	rec := proc.Record{Name: "kept", PID: cmd.Process.Pid, PGID: cmd.Process.Pid, CreateTime: ct, Port: x.Port,
		StartedAt: time.Now(), Token: tok}
	h := newHarness(t, Options{Adopt: []proc.Record{rec}}, x)
	h.track(daemon)
	if st := h.ready("kept"); st.PID != cmd.Process.Pid {
		t.Fatalf("adopted pid %d, want %d", st.PID, cmd.Process.Pid)
	}
	h.stop("kept")
	if testutil.ProcessAlive(daemon) {
		t.Fatalf("the adopted run's daemon %d outlived its Stop", daemon)
	}
}
