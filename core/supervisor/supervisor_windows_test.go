//go:build windows

package supervisor

// The supervisor with real processes on Windows (under Wine in CI, see
// scripts/test-windows.sh): start → Ready, a killed sidecar restarted, a
// stop that the sidecar ignores, the grandchild-serving fixture, and the
// app killed outright. Figures are printed with t.Logf ("figure: ...").

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"outrigger/core/appdirs"
	"outrigger/core/config"
	"outrigger/core/proc"
	"outrigger/internal/testutil"
)

// restartSoon restarts every unrequested exit after a short delay.
type restartSoon struct{ n int }

func (p *restartSoon) Ready(time.Time) {}
func (p *restartSoon) Reset()          { p.n = 0 }
func (p *restartSoon) Exited(ExitInfo, time.Time) Decision {
	p.n++
	return Decision{Restart: true, Delay: 100 * time.Millisecond, Attempt: p.n, Reason: "restarting soon"}
}

func TestWindowsStartReadyStop(t *testing.T) {
	h := newHarness(t, Options{}, fixtureSpec(t, "alpha"))
	h.start("alpha")
	st := h.ready("alpha")
	t.Logf("figure: start -> Ready in %v", st.ReadyAt.Sub(*st.StartedAt).Round(time.Millisecond))
	h.stop("alpha")
	if st, _ := h.sup.Status("alpha"); st.State != Stopped {
		t.Fatalf("after Stop: %+v", st)
	}
	h.waitEvent("stopped", func(e Event) bool { return e.Sidecar == "alpha" && e.Status.State == Stopped })
	testutil.Eventually(t, wait, func() bool { return !testutil.ProcessAlive(st.PID) }, "pid %d gone", st.PID)
}

func TestWindowsKilledSidecarIsRestarted(t *testing.T) {
	h := newHarness(t, Options{Policy: func(config.Spec) RestartPolicy { return &restartSoon{} }},
		fixtureSpec(t, "alpha"))
	h.start("alpha")
	first := h.ready("alpha")
	begin := time.Now()
	if err := proc.KillGroup(first.PID); err != nil { // TerminateProcess: what Task Manager's "End task" does
		t.Fatalf("kill %d: %v", first.PID, err)
	}
	var again Status
	testutil.Eventually(t, wait, func() bool {
		again, _ = h.sup.Status("alpha")
		return again.State == Ready && again.PID != first.PID
	}, "alpha Ready again with a new process")
	h.track(again.PID)
	if again.Restarts != 1 {
		t.Errorf("restarts = %d, want 1", again.Restarts)
	}
	t.Logf("figure: kill -> Ready again in %v", time.Since(begin).Round(time.Millisecond))
}

// TestWindowsStopIgnored: a sidecar that ignores the graceful request is
// ended with its job after stop_timeout. Where CTRL_BREAK_EVENT cannot be
// sent (Wine 8), it is ended at once instead; both must leave nothing.
func TestWindowsStopIgnored(t *testing.T) {
	var logBuf testutil.Buffer
	spec := fixtureSpec(t, "stubborn", "-ignore-sigterm")
	spec.StopTimeout = time.Second
	h := newHarness(t, Options{Logger: slog.New(slog.NewTextHandler(&logBuf, nil))}, spec)
	h.start("stubborn")
	st := h.ready("stubborn")
	begin := time.Now()
	h.stop("stubborn")
	took := time.Since(begin)
	testutil.Eventually(t, wait, func() bool { return !testutil.ProcessAlive(st.PID) }, "pid %d gone", st.PID)
	log := logBuf.String()
	switch {
	case strings.Contains(log, proc.ErrNotGraceful.Error()):
		t.Logf("figure: CTRL_BREAK_EVENT not available here (Wine 8); ended at once, stop took %v", took.Round(time.Millisecond))
	case strings.Contains(log, "did not stop within stop_timeout"):
		if ring := h.sup.Logs("stubborn").Lines(); !strings.Contains(fmt.Sprint(ring), "ignoring") {
			t.Errorf("the fixture never reported the CTRL_BREAK it ignored: %v", ring)
		}
		t.Logf("figure: ignored CTRL_BREAK -> ended after stop_timeout, stop took %v", took.Round(time.Millisecond))
	default:
		t.Fatalf("stop neither timed out nor fell back to ending the job; log:\n%s", log)
	}
}

// TestWindowsGrandchildGoneAfterStop: the PyInstaller --onefile shape (a
// parent that does not forward the stop, a child that serves) leaves no
// process behind.
func TestWindowsGrandchildGoneAfterStop(t *testing.T) {
	h := newHarness(t, Options{}, fixtureSpec(t, "onefile", "-fork-grandchild"))
	h.start("onefile")
	st := h.ready("onefile")
	var who struct{ PID, PPID int }
	getJSON(t, st.URL+"/pid", &who)
	if who.PID == st.PID {
		t.Fatalf("the leader itself serves; want its child (pid %d)", who.PID)
	}
	h.track(who.PID)
	begin := time.Now()
	h.stop("onefile")
	testutil.Eventually(t, wait, func() bool {
		return !testutil.ProcessAlive(st.PID) && !testutil.ProcessAlive(who.PID)
	}, "leader %d and serving grandchild %d gone after Stop", st.PID, who.PID)
	t.Logf("figure: Stop -> no process of the tree left in %v", time.Since(begin).Round(time.Millisecond))
}

// appEnv makes this test binary a minimal app (see init): it supervises
// the sidecars described in the variable's JSON and prints their pids.
const appEnv = "OUTRIGGER_TEST_WINDOWS_APP"

type appPlan struct {
	BinDir string
	Home   string
	Specs  []config.Spec
}

func init() {
	raw := os.Getenv(appEnv)
	if raw == "" {
		return
	}
	var plan appPlan
	if err := json.Unmarshal([]byte(raw), &plan); err != nil {
		fmt.Println("app: bad plan:", err)
		os.Exit(2)
	}
	sup, err := New(Options{
		Config:  config.Config{Mode: "standalone", Sidecars: plan.Specs},
		Paths:   appdirs.Paths{Home: plan.Home, LogDir: filepath.Join(plan.Home, "logs"), DataDir: filepath.Join(plan.Home, "data")},
		BinDirs: []string{plan.BinDir},
		Logger:  slog.New(slog.NewTextHandler(os.Stderr, nil)),
	})
	if err != nil {
		fmt.Println("app:", err)
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for _, s := range plan.Specs {
		if err := sup.Start(ctx, s.Name); err != nil {
			fmt.Println("app:", err)
			os.Exit(2)
		}
	}
	for _, s := range plan.Specs {
		if err := sup.WaitReady(ctx, s.Name); err != nil {
			fmt.Println("app:", err)
			os.Exit(2)
		}
		st, _ := sup.Status(s.Name)
		fmt.Printf("ready %s %d\n", s.Name, st.PID)
	}
	select {} // until killed
}

// TestWindowsAppKilledLeavesNoSidecar: the app is ended the hard way
// (TerminateProcess, Windows' kill -9); the sidecars' jobs close with its
// handles and take every sidecar process with them.
func TestWindowsAppKilledLeavesNoSidecar(t *testing.T) {
	specs := []config.Spec{fixtureSpec(t, "one"), fixtureSpec(t, "two", "-fork-grandchild")}
	plan, _ := json.Marshal(appPlan{BinDir: testutil.BinDir(t, "one", "two"), Home: testutil.TempDir(t), Specs: specs})
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	app := exec.Command(self)
	app.Env = append(os.Environ(), appEnv+"="+string(plan))
	out, err := app.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var appErr testutil.Buffer
	app.Stderr = &appErr
	if err := app.Start(); err != nil {
		t.Fatal(err)
	}
	reaped := make(chan struct{})
	lines := make(chan string, 8)
	go func() {
		defer close(reaped)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		_ = app.Wait()
	}()
	t.Cleanup(func() {
		_ = app.Process.Kill()
		<-reaped
	})
	var pids []int
	deadline := time.After(wait)
	for len(pids) < len(specs) {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("app ended before its sidecars were Ready; its log:\n%s", appErr.String())
			}
			var name string
			var pid int
			if _, err := fmt.Sscanf(l, "ready %s %d", &name, &pid); err == nil {
				pids = append(pids, pid)
			}
		case <-deadline:
			t.Fatalf("sidecars not Ready; app log:\n%s", appErr.String())
		}
	}
	// The serving grandchild of "two" is found through its port.
	var who struct{ PID int }
	getJSON(t, specs[1].URL()+"/pid", &who)
	pids = append(pids, who.PID)
	begin := time.Now()
	if err := proc.KillGroup(app.Process.Pid); err != nil {
		t.Fatalf("kill app: %v", err)
	}
	testutil.Eventually(t, wait, func() bool {
		for _, p := range pids {
			if testutil.ProcessAlive(p) {
				return false
			}
		}
		return true
	}, "no sidecar process (%v) left after the app was killed", pids)
	t.Logf("figure: app killed -> no sidecar process left in %v", time.Since(begin).Round(time.Millisecond))
}
