package testutil

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestProcessAliveWhileReaped: a zombie being reaped while ProcessAlive
// looks at it reads as dead, never alive. The old order (signal 0, then
// /proc) saw the zombie still there, then no /proc entry, and trusted the
// signal: "daemon alive after Stop returned" when the containment pass
// reaped the stopped daemon at that moment (loop runs A2, twice).
func TestProcessAliveWhileReaped(t *testing.T) {
	for i := 0; i < 200; i++ {
		cmd := exec.Command("true")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		pid := cmd.Process.Pid
		Eventually(t, 30*time.Second, func() bool {
			st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
			return err == nil && strings.Contains(string(st), ") Z ")
		}, "pid %d to be a zombie", pid)
		if ProcessAlive(pid) {
			t.Fatalf("zombie %d reads as alive", pid)
		}
		reaped := make(chan struct{})
		go func() { _ = cmd.Wait(); close(reaped) }()
		for done := false; !done; {
			select {
			case <-reaped:
				done = true
			default:
			}
			if ProcessAlive(pid) {
				t.Fatalf("round %d: pid %d, a zombie being reaped, read as alive", i, pid)
			}
		}
	}
}
