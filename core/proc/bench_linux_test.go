package proc_test

import (
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"

	"outrigger/core/proc"
	"outrigger/internal/testutil"
)

// BenchmarkStartRun is what starting one run costs the app: Prepare, Start
// (with its cgroup where cgroups are in use: mkdir, open, clone3 into it)
// and Attach. Ending it (Kill, Wait, until not Lingering, Close: the
// rmdir) is timed apart as stop-ns/op. Run it once as is and once with
// OUTRIGGER_NO_CGROUP=1 to see the cgroup's share.
func BenchmarkStartRun(b *testing.B) {
	bin := testutil.BuildFixture(b)
	inUse, why := proc.CgroupsInUse()
	b.Logf("cgroup per run: %v %s", inUse, why)
	var stop time.Duration
	for i := 0; i < b.N; i++ {
		cmd := exec.Command(bin, "-no-listen")
		cmd.Env = append(os.Environ(), "OUTRIGGER_SIDECAR=bench")
		proc.Prepare(cmd)
		if err := proc.Start(cmd); err != nil {
			b.Fatal(err)
		}
		tree, err := proc.Attach(cmd)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if inUse && proc.TreeCgroup(tree) == "" {
			b.Fatal("no cgroup")
		}
		t0 := time.Now()
		_ = tree.Kill()
		_ = cmd.Wait()
		for proc.Lingering(tree) {
			runtime.Gosched() // the kernel finishing the exit: no event to wait on
		}
		if err := tree.Close(); err != nil {
			b.Fatal(err)
		}
		stop += time.Since(t0)
		b.StartTimer()
	}
	b.ReportMetric(float64(stop.Nanoseconds())/float64(b.N), "stop-ns/op")
}
