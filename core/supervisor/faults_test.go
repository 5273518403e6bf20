//go:build linux

package supervisor

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"outrigger/internal/testutil"
)

// healthy reports whether the sidecar on port answers /health.
func healthy(port int) bool {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/health", port))
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == 200
}

// mountTmpfs mounts a tmpfs of size at dir, or skips the test.
func mountTmpfs(t *testing.T, dir, size string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Skipf("cannot mount a %s tmpfs to fill up (needs root or CAP_SYS_ADMIN): %v %s", size, err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
}

// TestLogFolderFillsUp: the sidecar keeps running, the app warns once, and
// logging to the file resumes when space returns.
func TestLogFolderFillsUp(t *testing.T) {
	var logBuf testutil.Buffer
	spec := fixtureSpec(t, "full", "-stderr-bytes-per-sec", "400000")
	h := newHarness(t, Options{Logger: slog.New(slog.NewTextHandler(&logBuf, &slog.HandlerOptions{Level: slog.LevelInfo})), RingSize: 1000}, spec)
	logs := filepath.Join(h.home, "logs")
	mountTmpfs(t, logs, "1m")
	// Leave a little room, then let the sidecar's output fill it.
	filler := filepath.Join(logs, "filler")
	if err := os.WriteFile(filler, make([]byte, 900<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	h.start("full")
	st := h.ready("full")
	const warning = "log file: cannot write"
	testutil.Eventually(t, wait, func() bool { return strings.Contains(logBuf.String(), warning) }, "the disk-full warning")
	// Still running and serving, with a full disk, for a while of output.
	seq := h.sup.Logs("full").Lines()
	mark := seq[len(seq)-1].Seq
	testutil.Eventually(t, wait, func() bool {
		l := h.sup.Logs("full").Lines()
		return l[len(l)-1].Seq > mark+2000
	}, "output to keep flowing into the ring")
	if !healthy(st.Port) {
		t.Fatal("the sidecar stopped serving when its log folder filled up")
	}
	if s, _ := h.sup.Status("full"); s.State != Ready || s.PID != st.PID {
		t.Fatalf("state %s pid %d, want Ready pid %d", s.State, s.PID, st.PID)
	}
	if n := strings.Count(logBuf.String(), warning); n != 1 {
		t.Fatalf("%d disk-full warnings, want one", n)
	}
	// Space returns: the file grows again.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, wait, func() bool { return strings.Contains(logBuf.String(), "log file: writing again") }, "the resumed notice")
	fi1, err := os.Stat(st.LogFile)
	if err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, wait, func() bool {
		fi2, err := os.Stat(st.LogFile)
		return err == nil && fi2.Size() > fi1.Size()
	}, "the log file to grow again")
	if n := strings.Count(logBuf.String(), warning); n > 2 {
		// It may fill up again (the flood goes on): one warning per spell.
		t.Fatalf("%d warnings", n)
	}
}

// TestSidecarClosesStdoutButKeepsRunning: the end of one output stream is
// not the end of the run.
func TestSidecarClosesStdoutButKeepsRunning(t *testing.T) {
	spec := fixtureSpec(t, "mute", "-close-stdout")
	h := newHarness(t, Options{}, spec)
	h.start("mute")
	st := h.ready("mute")
	testutil.Eventually(t, wait, func() bool {
		for _, l := range h.sup.Logs("mute").Lines() {
			if l.Text == "fixture: stdout closed, still serving" {
				return true
			}
		}
		return false
	}, "the fixture to report its stdout closed")
	// Whatever the supervisor makes of the closed stream has happened by
	// the time a later line arrives on the other one: a request the
	// fixture answers, then the status.
	if !healthy(st.Port) {
		t.Fatal("not serving")
	}
	if s, _ := h.sup.Status("mute"); s.State != Ready || s.PID != st.PID || s.LastExit != nil {
		t.Fatalf("after closing stdout: state %s pid %d lastExit %v", s.State, s.PID, s.LastExit)
	}
	h.stop("mute")
	s, _ := h.sup.Status("mute")
	if s.State != Stopped || s.LastExit == nil || s.LastExit.Code != 0 {
		t.Fatalf("stop: state %s exit %v, want a clean exit on SIGTERM", s.State, s.LastExit)
	}
}

// TestStderrFlood: a sidecar writing up to 100 MB/s to stderr does not make
// the supervisor unresponsive, and memory stays bounded (ring capped, file
// buffer bounded, pipe back-pressure instead of queues).
func TestStderrFlood(t *testing.T) {
	flood := fixtureSpec(t, "flood", "-stderr-bytes-per-sec", "100000000")
	calm := fixtureSpec(t, "calm")
	// Sidecar lines are filtered out of slog here (Error level): this is
	// about capture, ring and file, not about formatting log records.
	h := newHarness(t, Options{RingSize: 1000, Logger: slog.New(slog.NewTextHandler(&testutil.Buffer{}, &slog.HandlerOptions{Level: slog.LevelError}))}, flood, calm)
	var maxHeap uint64
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Add(1)
	go func() {
		defer sampler.Done()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			maxHeap = max(maxHeap, ms.HeapInuse)
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond): // sampling period
			}
		}
	}()
	h.start("flood")
	st := h.ready("flood")
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for i := 0; i < 3; i++ {
		if err := h.sup.Start(ctx, "calm"); err != nil {
			t.Fatal(err)
		}
		h.ready("calm")
		h.stop("calm")
	}
	lines := h.sup.Logs("flood").Lines()
	if len(lines) > 1000 {
		t.Fatalf("ring holds %d lines, cap 1000", len(lines))
	}
	n := lines[len(lines)-1].Seq
	elapsed := time.Since(began)
	if !healthy(st.Port) {
		t.Fatal("the flooding sidecar stopped serving")
	}
	h.stop("flood")
	close(stop)
	sampler.Wait()
	t.Logf("flood: %d lines (~%.0f MB/s of stderr captured) while 3 start/ready/stop cycles of another sidecar ran in %v; max heap in use %.1f MiB",
		n, float64(n)*100/elapsed.Seconds()/1e6, elapsed.Round(time.Millisecond), float64(maxHeap)/(1<<20))
	if maxHeap > 256<<20 {
		t.Fatalf("heap in use reached %.0f MiB during the flood", float64(maxHeap)/(1<<20))
	}
}

// TestLastLinesOnDiskWhenExitIsAnnounced: a run's output is in its file by
// the time its exit is published, though the file is written in batches
// (a busy log waits up to 250 ms for more).
func TestLastLinesOnDiskWhenExitIsAnnounced(t *testing.T) {
	for i := 0; i < 5; i++ {
		spec := fixtureSpec(t, "brief", "-no-listen", "-flood-bytes", "5000", "-flood-then-exit", "-stderr-line", "last words")
		h := newHarness(t, Options{}, spec)
		ch, cancel := h.sup.Subscribe()
		h.start("brief")
		timeout := time.After(wait)
	events:
		for {
			select {
			case e, ok := <-ch:
				if !ok || e.Sidecar == "brief" && (e.Status.State == Exited || e.Status.State == Failed) {
					break events
				}
			case <-timeout:
				t.Fatal("no exit announced")
			}
		}
		cancel()
		st, _ := h.sup.Status("brief")
		data, err := os.ReadFile(st.LogFile)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"stdout flood 000049 ", "stdout flood done", "stderr last words"} {
			if !strings.Contains(string(data), want) {
				t.Fatalf("run %d: %q missing from the log file when the exit was announced:\n%s", i, want, data)
			}
		}
	}
}
