package proc_test

import (
	"fmt"
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

// createTimeOfEnv asks the test binary, re-run, to print one pid's create
// time and exit: another process's reading, as the guardian's or the next
// launch's.
const createTimeOfEnv = "OUTRIGGER_TEST_CREATETIME_OF"

func printCreateTimeIfAsked() {
	v := os.Getenv(createTimeOfEnv)
	if v == "" {
		return
	}
	pid, _ := strconv.Atoi(v)
	ct, err := proc.CreateTime(pid)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(ct)
	os.Exit(0)
}

// A create time is to the tick: two processes started a few ticks apart
// differ by exactly those ticks. gopsutil's whole seconds (what records
// held before) gave 0 or 1000 ms here, and a pid reused within the same
// second passed for the recorded process.
func TestCreateTimeToTheTick(t *testing.T) {
	a := startIdle(t)
	sa, err := proc.ReadStat(a.pid())
	if err != nil {
		t.Fatal(err)
	}
	// A few ticks between the two starts, so that they differ.
	began := time.Now()
	testutil.Eventually(t, wait, func() bool { return time.Since(began) > 50*time.Millisecond }, "50 ms to pass")
	b := startIdle(t)
	sb, err := proc.ReadStat(b.pid())
	if err != nil {
		t.Fatal(err)
	}
	if sb.StartTicks <= sa.StartTicks {
		t.Fatalf("start ticks %d then %d: the second start is not later", sa.StartTicks, sb.StartTicks)
	}
	cta, ctb := createTime(t, a.pid()), createTime(t, b.pid())
	want := int64(sb.StartTicks-sa.StartTicks) * 1000 / proc.ClockTicks()
	if got := ctb - cta; got != want {
		t.Errorf("create times %d and %d differ by %d ms, want %d (%d ticks)", cta, ctb, got, want, sb.StartTicks-sa.StartTicks)
	}
}

// The guardian and the next launch are other processes: they must read
// the same create time for the same process, or they take our own sidecar
// for a reused pid and leave it running. (gopsutil computed the boot time
// as now − /proc/uptime, truncated to the second: on about one boot in a
// hundred two processes disagreed by a second.)
func TestCreateTimeAgreesAcrossProcesses(t *testing.T) {
	c := startIdle(t)
	ours := createTime(t, c.pid())
	for i := 0; i < 3; i++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), createTimeOfEnv+"="+strconv.Itoa(c.pid()))
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("second process: %v", err)
		}
		theirs, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
		if err != nil {
			t.Fatalf("second process printed %q", out)
		}
		if theirs != ours {
			t.Fatalf("another process reads create time %d for pid %d, we read %d", theirs, c.pid(), ours)
		}
		if got := proc.Check(c.pid(), theirs); got != proc.Alive {
			t.Fatalf("Check with the other process's create time = %v, want alive", got)
		}
	}
}

// A process that exited and is not reaped yet is a zombie, with the same
// identity: Check says so (the sweep reports it, and only its parent can
// reap it).
func TestCheckZombie(t *testing.T) {
	cmd := exec.Command(testutil.BuildFixture(t), "-no-listen")
	cmd.Env = append(os.Environ(), "APP_PORT="+strconv.Itoa(testutil.FreePort(t)))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	reaped := false
	t.Cleanup(func() {
		if !reaped {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	ct := createTime(t, pid)
	if got := proc.Check(pid, ct); got != proc.Alive {
		t.Fatalf("Check of the running child = %v, want alive", got)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	testutil.Eventually(t, wait, func() bool {
		st, err := proc.ReadStat(pid)
		return err == nil && st.State == 'Z'
	}, "pid %d to be a zombie", pid)
	if got := proc.Check(pid, ct); got != proc.Zombie {
		t.Errorf("Check of the unreaped child = %v, want zombie", got)
	}
	if got := proc.Check(pid, ct+10); got != proc.Replaced {
		t.Errorf("Check of the zombie with another create time = %v, want replaced", got)
	}
	_ = cmd.Wait()
	reaped = true
	if got := proc.Check(pid, ct); got != proc.Gone {
		t.Errorf("Check of the reaped child = %v, want gone", got)
	}
}

func TestParseBootTime(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"cpu  1 2 3\nintr 5\nctxt 7\nbtime 1795777320\nprocesses 9\n", 1795777320, true},
		{"btime 1795777320", 1795777320, true}, // no final newline
		{"cpu  1 2 3\nprocesses 9\n", 0, false},
		{"btime x\n", 0, false},
		{"btime 0\n", 0, false},
		{"xbtime 5\n", 0, false},
	} {
		got, err := proc.ParseBootTime([]byte(tc.in))
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseBootTime(%q) = %d, %v; want %d, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
