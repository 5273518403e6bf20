//go:build unix

package supervisor

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"outrigger/core/proc"
	"outrigger/internal/testutil"
)

// returns runs f and fails the test if it has not returned within the
// generous wait: a call that should never block, did.
func returns(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(wait):
		t.Fatalf("%s blocked", what)
	}
}

// TestSlowPreflightBlocksNobody: while one sidecar's port preflight is busy
// ending a leftover of an earlier run that ignores SIGTERM, its loop still
// answers, the sweep's reports never wait, and another sidecar starts and
// becomes Ready. The order is forced, not timed: the leftover only dies when
// the test kills it, after every assertion.
func TestSlowPreflightBlocksNobody(t *testing.T) {
	slow := fixtureSpec(t, "slow")
	quick := fixtureSpec(t, "quick")
	h := newHarness(t, Options{}, slow, quick)
	h.sup.leftoverGrace = time.Hour // only our SIGKILL below ends the leftover

	var out testutil.Buffer
	cmd := exec.Command(testutil.BuildFixture(t), "-ignore-sigterm")
	cmd.Env = append(os.Environ(), "APP_PORT="+strconv.Itoa(slow.Port))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	reaped := make(chan struct{})
	go func() { _ = cmd.Wait(); close(reaped) }() // reap at once, as init would for a real leftover
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); <-reaped })
	leftover := cmd.Process.Pid
	ct, err := proc.CreateTime(leftover)
	if err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, wait, func() bool { return strings.Contains(out.String(), "listening") }, "leftover to bind")
	if err := h.sup.state.Put(proc.Record{Name: "slow", PID: leftover, PGID: leftover, CreateTime: ct,
		Port: slow.Port, StartedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}

	started := make(chan error, 1)
	go func() { started <- h.sup.Start(context.Background(), "slow") }()
	testutil.Eventually(t, wait, func() bool { return strings.Contains(out.String(), "ignoring") },
		"the preflight to send SIGTERM to the leftover")

	// From here until the SIGKILL below, slow's preflight is inside the
	// leftover's grace period.
	returns(t, "ReportMetrics to the sidecar in preflight", func() {
		for i := range 100 {
			h.sup.ReportMetrics("slow", leftover, float64(i), 1)
			h.sup.ReportGone("slow", leftover, "zombie")
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := h.sup.UpdateSpec(ctx, slow); err != nil {
		t.Fatalf("the loop of the sidecar in preflight did not answer: %v", err)
	}
	h.start("quick")
	q := h.ready("quick")
	// Metrics are latest-wins: the last report is the one that stays.
	returns(t, "ReportMetrics", func() {
		for i := 1; i <= 100; i++ {
			h.sup.ReportMetrics("quick", q.PID, float64(i), uint64(i))
		}
	})
	testutil.Eventually(t, wait, func() bool {
		st, _ := h.sup.Status("quick")
		return st.CPUPercent == 100 && st.RSSBytes == 100
	}, "the newest metrics to be shown")

	if !testutil.ProcessAlive(leftover) {
		t.Fatal("the leftover ended before the test killed it: the ordering above proves nothing")
	}
	if st, _ := h.sup.Status("slow"); st.State != Starting || st.PID != 0 {
		t.Fatalf("slow is %s with pid %d during its preflight, want starting with no process", st.State, st.PID)
	}
	select {
	case err := <-started:
		t.Fatalf("Start returned (%v) before the process was up", err)
	default:
	}

	// The leftover goes: the preflight finishes and slow gets its own port.
	if err := syscall.Kill(-leftover, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("Start: %v", err)
		}
	case <-time.After(wait):
		t.Fatal("Start did not return after the leftover ended")
	}
	st := h.ready("slow")
	if st.Port != slow.Port || !strings.Contains(st.Reason, "leftover") {
		t.Fatalf("port %d reason %q: want its own port back after ending the leftover", st.Port, st.Reason)
	}
}

// TestStopDuringPreflight: a Stop while the preflight runs ends the start;
// the Start caller hears that it never came up, and the late preflight
// result spawns nothing.
func TestStopDuringPreflight(t *testing.T) {
	slow := fixtureSpec(t, "slow")
	h := newHarness(t, Options{}, slow)
	h.sup.leftoverGrace = time.Hour

	var out testutil.Buffer
	cmd := exec.Command(testutil.BuildFixture(t), "-ignore-sigterm")
	cmd.Env = append(os.Environ(), "APP_PORT="+strconv.Itoa(slow.Port))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	reaped := make(chan struct{})
	go func() { _ = cmd.Wait(); close(reaped) }()
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); <-reaped })
	leftover := cmd.Process.Pid
	ct, err := proc.CreateTime(leftover)
	if err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, wait, func() bool { return strings.Contains(out.String(), "listening") }, "leftover to bind")
	if err := h.sup.state.Put(proc.Record{Name: "slow", PID: leftover, PGID: leftover, CreateTime: ct,
		Port: slow.Port, StartedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	started := make(chan error, 1)
	go func() { started <- h.sup.Start(context.Background(), "slow") }()
	testutil.Eventually(t, wait, func() bool { return strings.Contains(out.String(), "ignoring") },
		"the preflight to send SIGTERM to the leftover")
	h.stop("slow")
	if err := <-started; err == nil || !strings.Contains(err.Error(), "stopped before it was up") {
		t.Fatalf("Start = %v, want stopped before it was up", err)
	}
	if err := syscall.Kill(-leftover, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-reaped
	// Close waits for the preflight goroutine; after it, nothing was spawned.
	if err := h.sup.Close(); err != nil {
		t.Fatal(err)
	}
	if st, _ := h.sup.Status("slow"); st.State != Stopped || st.PID != 0 {
		t.Fatalf("after a Stop during preflight: %s pid %d", st.State, st.PID)
	}
}
