package proc_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"outrigger/core/proc"
	"outrigger/internal/testutil"
)

// TestSpawnerKeepsTheParentDeathSignal: a child started through proc.Start
// from a goroutine that has since ended, in an app whose other locked
// threads have exited meanwhile, is still running; once the app is killed
// (-9: nothing of ours runs), the child gets its parent-death signal.
// The app is a child test process that prints the child's pid.
func TestSpawnerKeepsTheParentDeathSignal(t *testing.T) {
	if os.Getenv("PROC_SPAWNER_CHILD") == "1" {
		spawnerChild()
		return
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	app := exec.Command(self, "-test.run=^TestSpawnerKeepsTheParentDeathSignal$", "-test.count=1")
	app.Env = append(os.Environ(), "PROC_SPAWNER_CHILD=1", "FIXTURE="+testutil.BuildFixture(t),
		"APP_PORT="+strconv.Itoa(testutil.FreePort(t)))
	app.Stderr = os.Stderr
	out, err := app.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = app.Process.Kill(); _ = app.Wait() })
	var pid int
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CHILD "); ok {
			pid, _ = strconv.Atoi(v)
			break
		}
	}
	if pid <= 0 {
		t.Fatal("the app printed no child pid")
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		// The killed app's run cgroup (where cgroups are used), as the
		// next launch's sweep would remove it.
		testutil.Eventually(t, wait, func() bool { return !testutil.ProcessAlive(pid) }, "the child to end")
		if _, err := proc.EndLeftoverCgroups(0, nil); err != nil {
			t.Error(err)
		}
	})
	if !testutil.ProcessAlive(pid) {
		t.Fatal("the child died with the goroutine that started it, or with another thread")
	}
	_ = app.Process.Kill()
	_ = app.Wait()
	testutil.Eventually(t, wait, func() bool { return !testutil.ProcessAlive(pid) },
		"the child to get its parent-death signal when the app is killed")
}

func spawnerChild() {
	var wg sync.WaitGroup
	var cmd *exec.Cmd
	wg.Go(func() {
		cmd = exec.Command(os.Getenv("FIXTURE"), "-no-listen")
		proc.Prepare(cmd)
		if err := proc.Start(cmd); err != nil {
			fmt.Fprintln(os.Stderr, "start:", err)
			os.Exit(1)
		}
	})
	wg.Wait()
	// Goroutines that end while locked take their threads with them: the
	// child must not care.
	for range 4 {
		wg.Go(func() { runtime.LockOSThread() })
	}
	wg.Wait()
	fmt.Printf("CHILD %d\n", cmd.Process.Pid)
	// Until killed. Not select {}: with every goroutine blocked the
	// runtime may call it a deadlock and exit (see cgroupApp).
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	<-sig
	os.Exit(0)
}

// TestAwaitExitSeesAnExitTheNetpollerTookIn: a child that has already
// exited when AwaitExit registers its pidfd, and a pause after the
// registration in which the runtime's poller takes in the pidfd's one
// (edge-triggered) readiness. AwaitExit must still return: it once waited
// for ever there, a crash-looping sidecar's exit never seen (a zombie for
// minutes, its Stop never answered) on a loaded machine.
func TestAwaitExitSeesAnExitTheNetpollerTookIn(t *testing.T) {
	for i := range 5 {
		cmd := exec.Command("/bin/true")
		if err := proc.Start(cmd); err != nil {
			t.Fatal(err)
		}
		pid := cmd.Process.Pid
		testutil.Eventually(t, wait, func() bool {
			st, err := proc.ReadStat(pid)
			return err == nil && st.State == 'Z'
		}, "child %d to exit", pid)
		done := make(chan struct{})
		go func() {
			defer close(done)
			// The pause parks this goroutine on a timer: the idle
			// scheduler sits in the poller until then and collects the
			// pidfd's readiness, which the wait then clears.
			proc.AwaitExitAfter(pid, func() { time.Sleep(50 * time.Millisecond) })
		}()
		select {
		case <-done:
		case <-time.After(wait):
			t.Fatalf("round %d: AwaitExit did not return for child %d, a zombie since before it began", i, pid)
		}
		if err := cmd.Wait(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAwaitExitWaitsForTheExit: AwaitExit returns only once the child has
// exited.
func TestAwaitExitWaitsForTheExit(t *testing.T) {
	cmd := exec.Command("/bin/sh", "-c", "read line || true")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := proc.Start(cmd); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); proc.AwaitExit(cmd.Process.Pid) }()
	select {
	case <-done:
		t.Fatal("AwaitExit returned while the child still runs")
	case <-time.After(200 * time.Millisecond): // a while for a wrong return to show; not a synchronisation
	}
	stdin.Close() // the child's read ends: it exits
	select {
	case <-done:
	case <-time.After(wait):
		t.Fatal("AwaitExit did not return after the child exited")
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
}
