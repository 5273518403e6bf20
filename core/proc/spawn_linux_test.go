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
