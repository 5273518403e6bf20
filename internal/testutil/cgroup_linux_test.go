package testutil

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestIsolateCgroup runs this test binary again with the isolation mark
// cleared, as a package's test process: RunMain moves it into a cgroup of
// its own (in ours), where it leaves a process running; when its tests
// end, RunMain takes it back out, ends that process and removes the
// cgroup.
func TestIsolateCgroup(t *testing.T) {
	if os.Getenv("TESTUTIL_ISOLATE_CHILD") == "1" {
		own, _ := os.ReadFile("/proc/self/cgroup")
		sleep := exec.Command("sleep", "300")
		if err := sleep.Start(); err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(own), "\n") {
			if v, ok := strings.CutPrefix(line, "0::"); ok {
				t.Logf("CGROUP %s", v)
			}
		}
		t.Logf("LEFT %d", sleep.Process.Pid)
		return // the sleep is left running on purpose
	}
	ours := os.Getenv(isolatedEnv)
	if ours == "" {
		t.Skip("this test process is not in a cgroup of its own (no writable cgroup v2 here)")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	child := exec.Command(self, "-test.run=^TestIsolateCgroup$", "-test.count=1", "-test.v")
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, isolatedEnv+"=") {
			env = append(env, kv)
		}
	}
	child.Env = append(env, "TESTUTIL_ISOLATE_CHILD=1")
	out, err := child.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	var cgroup string
	var left int
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		line := sc.Text()
		if _, v, ok := strings.Cut(line, "CGROUP "); ok {
			cgroup = strings.TrimSpace(v)
		}
		if _, v, ok := strings.Cut(line, "LEFT "); ok {
			left, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	want := "test-outrigger-" + strconv.Itoa(child.Process.Pid)
	if filepath.Base(cgroup) != want || !strings.HasSuffix(ours, filepath.Dir(cgroup)) {
		t.Fatalf("the child's tests ran in cgroup %q, want %s inside ours (%s)\n%s", cgroup, want, ours, out)
	}
	if left == 0 || !strings.Contains(string(out), "ended 1 processes the tests left running") {
		t.Fatalf("the child did not report the process it left\n%s", out)
	}
	// Reparented to init (or a subreaper) when the child exited: gone, or
	// a zombie for the moment its new parent takes to reap it.
	Eventually(t, 30*time.Second, func() bool {
		err := syscall.Kill(left, 0)
		if err != nil {
			return true
		}
		st, _ := os.ReadFile("/proc/" + strconv.Itoa(left) + "/stat")
		return strings.Contains(string(st), ") Z ")
	}, "the process the child's tests left (pid %d) to be ended", left)
	if _, err := os.Stat(filepath.Join(ours, want)); !os.IsNotExist(err) {
		t.Fatalf("the child's cgroup is still there: %v", err)
	}
}

// TestEndStale leaves a tests' cgroup as a test binary killed from outside
// does (named for a pid that is gone, a process still in it) beside one
// named for a live process: the next isolation ends and removes the first
// and leaves the second.
func TestEndStale(t *testing.T) {
	ours := os.Getenv(isolatedEnv)
	if ours == "" {
		t.Skip("this test process is not in a cgroup of its own (no writable cgroup v2 here)")
	}
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(ours, testCgroupPrefix+strconv.Itoa(gone.Process.Pid))
	live := filepath.Join(ours, testCgroupPrefix+strconv.Itoa(os.Getpid()))
	for _, d := range []string{stale, live} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _, _ = endCgroupTree(live); _, _ = endCgroupTree(stale) })
	left := exec.Command("sleep", "300")
	if err := left.Start(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stale, "cgroup.procs"), []byte(strconv.Itoa(left.Process.Pid)), 0); err != nil {
		_ = left.Process.Kill()
		_ = left.Wait()
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- left.Wait() }()

	endStale(ours)

	select {
	case err := <-waited:
		if ws, ok := left.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("the process left in the stale cgroup ended with %v, want killed", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the process left in the stale cgroup is still running")
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Fatalf("the stale cgroup is still there: %v", err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Fatalf("the live test process's cgroup was removed: %v", err)
	}
}
