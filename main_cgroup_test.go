//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"outrigger/core/proc"
	"outrigger/core/supervisor"
	"outrigger/internal/testutil"
)

// A sidecar whose daemon clears its environment and escapes at once, as
// `(env -i setsid server &)`: only its run's cgroup holds it.
func bareDaemonConfig(port int) string {
	return fmt.Sprintf(`mode = "service"
service = "bare"
`+standInsOff+`[[sidecar]]
name = "bare"
binary = "onefile"
args = ["-daemonize-empty-env"]
port = %d
`, port)
}

type pidStart struct {
	pid   int
	start uint64
}

func (p pidStart) alive() bool {
	st, err := proc.ReadStat(p.pid)
	return err == nil && st.StartTicks == p.start && st.State != 'Z'
}

// bareDaemonUp waits for the sidecar to serve and be recorded, and returns
// its daemon and the run's cgroup.
func bareDaemonUp(t *testing.T, a *app, port int) (pidStart, string) {
	t.Helper()
	waitHealthy(t, port)
	var cg string
	testutil.Eventually(t, wait, func() bool {
		data, err := os.ReadFile(filepath.Join(a.home, "state", supervisor.StateFileName))
		var recs []proc.Record
		if err != nil || json.Unmarshal(data, &recs) != nil || len(recs) != 1 {
			return false
		}
		cg = recs[0].Cgroup
		return true
	}, "the sidecar in the state file")
	pid := fixturePIDs(t, port)[0]
	st, err := proc.ReadStat(pid)
	if err != nil {
		t.Fatal(err)
	}
	d := pidStart{pid, st.StartTicks}
	t.Cleanup(func() {
		if d.alive() {
			_ = syscall.Kill(d.pid, syscall.SIGKILL)
		}
	})
	return d, cg
}

// guardianOf is the app's guardian: its child started in guardian mode.
func guardianOf(t *testing.T, appPID int) int {
	t.Helper()
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := proc.ReadStat(pid); err != nil || st.PPID != appPID {
			continue
		}
		env, _ := os.ReadFile("/proc/" + e.Name() + "/environ")
		if strings.Contains("\x00"+string(env), "\x00"+proc.GuardianEnv+"=1\x00") {
			return pid
		}
	}
	t.Fatalf("no guardian among the children of the app %d", appPID)
	return 0
}

// cgroupGone: the run had a cgroup (the state file said so) and it is gone.
func cgroupGone(dir string) bool {
	if dir == "" {
		return false
	}
	_, err := os.Stat(dir)
	return os.IsNotExist(err)
}

// TestKill9OfAppEndsEnvClearingDaemon: the guardian ends the run's cgroup,
// the daemon with it, and removes it.
func TestKill9OfAppEndsEnvClearingDaemon(t *testing.T) {
	testutil.NeedCgroups(t)
	port := testutil.FreePort(t)
	a := startApp(t, bareDaemonConfig(port), testutil.BinDir(t, "onefile"))
	daemon, cg := bareDaemonUp(t, a, port)
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, wait, func() bool { return !daemon.alive() }, "the daemon %d to be ended by the guardian", daemon.pid)
	testutil.Eventually(t, wait, func() bool { return cgroupGone(cg) }, "the guardian to remove %s", cg)
}

// TestKill9OfAppAndGuardianNextLaunchEndsEnvClearingDaemon: with the
// guardian killed too, the daemon survives; the next launch's sweep ends
// it, and the sidecar starts again on its own port.
func TestKill9OfAppAndGuardianNextLaunchEndsEnvClearingDaemon(t *testing.T) {
	testutil.NeedCgroups(t)
	port := testutil.FreePort(t)
	cfg, bin := bareDaemonConfig(port), testutil.BinDir(t, "onefile")
	a := startApp(t, cfg, bin)
	daemon, cg := bareDaemonUp(t, a, port)
	g := guardianOf(t, a.cmd.Process.Pid)
	if err := syscall.Kill(g, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-a.done
	_ = a.cmd.Wait()
	testutil.Eventually(t, wait, func() bool { return !testutil.ProcessAlive(g) }, "the guardian %d to die", g)
	if !daemon.alive() {
		t.Fatal("the daemon died with the app and its guardian: the sweep has nothing to prove")
	}
	b := startAppIn(t, a.home, cfg, bin)
	testutil.Eventually(t, wait, func() bool { return !daemon.alive() }, "the next launch to end the daemon %d", daemon.pid)
	next, _ := bareDaemonUp(t, b, port)
	if next == daemon {
		t.Fatal("the old daemon serves")
	}
	if !cgroupGone(cg) {
		t.Fatalf("the sweep left %s", cg)
	}
	if out := b.output(); !strings.Contains(out, "ended a sidecar left running by an earlier run") {
		t.Fatalf("the second launch did not say it ended the leftover; its output:\n%s", out)
	}
}
