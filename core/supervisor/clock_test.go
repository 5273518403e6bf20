//go:build unix

package supervisor

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"outrigger/core/config"
)

// recordingPolicy restarts after a short delay and keeps every time it is
// handed.
type recordingPolicy struct {
	mu    sync.Mutex
	times []time.Time
}

func (p *recordingPolicy) note(t time.Time) {
	p.mu.Lock()
	p.times = append(p.times, t)
	p.mu.Unlock()
}

func (p *recordingPolicy) Ready(now time.Time) { p.note(now) }
func (p *recordingPolicy) Reset()              {}
func (p *recordingPolicy) Exited(_ ExitInfo, now time.Time) Decision {
	p.note(now)
	return Decision{Restart: true, Delay: 300 * time.Millisecond, Attempt: 1, Reason: "restarting soon"}
}

// TestBackoffRunsOnMonotonicTime: a wall-clock jump (NTP, a user changing
// the time, a laptop waking) cannot stretch or skip a backoff or fake a
// stable run. The times the policy compares carry Go's monotonic reading,
// so their differences ignore the wall clock, and the backoff delay is a
// runtime timer (monotonic). Jumping the machine's clock in a test would
// disturb everything else running on it; core/watchdog's
// TestClockJumpDuringBackoff jumps the wall reading of Options.Now instead,
// and this test checks that every time handed to the policy is monotonic.
func TestBackoffRunsOnMonotonicTime(t *testing.T) {
	pol := &recordingPolicy{}
	spec := fixtureSpec(t, "tick")
	h := newHarness(t, Options{Policy: func(config.Spec) RestartPolicy { return pol }}, spec)
	h.start("tick")
	first := h.ready("tick")
	if err := syscall.Kill(first.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	h.waitEvent("the restart after the backoff", func(e Event) bool {
		return e.Sidecar == "tick" && e.Status.State == Ready && e.Status.PID != first.PID
	})
	pol.mu.Lock()
	defer pol.mu.Unlock()
	if len(pol.times) < 3 {
		t.Fatalf("policy saw %d times, want ready, exited, ready", len(pol.times))
	}
	for i, tm := range pol.times {
		if !strings.Contains(tm.String(), " m=") {
			t.Errorf("time %d handed to the policy, %v, has no monotonic reading: a wall-clock jump would skew it", i, tm)
		}
	}
}

// TestOptionsNowIsTheOnlyClock: the clock-jump test moves Options.Now, so
// it proves something only if the supervisor reads the time nowhere else.
func TestOptionsNowIsTheOnlyClock(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	direct := regexp.MustCompile(`time\.(Now|Since|Until)\b`)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(data), "\n") {
			code, _, _ := strings.Cut(line, "//")
			if direct.MatchString(code) && !strings.Contains(code, "opts.Now = time.Now") {
				t.Errorf("%s:%d reads the clock directly, not through Options.Now: %s", f, i+1, strings.TrimSpace(line))
			}
		}
	}
}
