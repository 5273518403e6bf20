//go:build unix

package supervisor

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"outrigger/internal/testutil"
)

// quantiles reports the median and p90 of samples as benchmark metrics.
func quantiles(b *testing.B, unit string, samples []time.Duration) {
	if len(samples) == 0 {
		return
	}
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(samples[len(samples)/2]), "median-"+unit)
	b.ReportMetric(ms(samples[len(samples)*9/10]), "p90-"+unit)
}

// nextEvent waits for an event of name matching f.
func nextEvent(b *testing.B, ch <-chan Event, name string, f func(Event) bool) Event {
	timeout := time.After(wait)
	for {
		select {
		case e := <-ch:
			if e.Sidecar == name && f(e) {
				return e
			}
		case <-timeout:
			b.Fatalf("no matching event for %s", name)
		}
	}
}

// BenchmarkExitDetection: fixture killed with SIGKILL → exit event.
func BenchmarkExitDetection(b *testing.B) {
	h := newHarness(b, Options{}, fixtureSpec(b, "victim"))
	ch, cancel := h.sup.Subscribe()
	defer cancel()
	var samples []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		h.start("victim")
		pid := h.ready("victim").PID
		b.StartTimer()
		t0 := time.Now()
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			b.Fatal(err)
		}
		e := nextEvent(b, ch, "victim", func(e Event) bool { return e.Status.State == Exited })
		samples = append(samples, e.Time.Sub(t0))
	}
	b.StopTimer()
	quantiles(b, "ms", samples)
}

// BenchmarkReadyDetection: the fixture's listener is up → Ready event. The
// fixture prints "listening" right after binding; the time its line was
// read is the earliest moment we could know.
func BenchmarkReadyDetection(b *testing.B) {
	h := newHarness(b, Options{}, fixtureSpec(b, "sprinter", "-start-delay", "150ms"))
	ch, cancel := h.sup.Subscribe()
	defer cancel()
	var samples []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h.start("sprinter")
		e := nextEvent(b, ch, "sprinter", func(e Event) bool { return e.Status.State == Ready })
		var listening time.Time
		for _, l := range h.sup.Logs("sprinter").Lines() {
			if strings.HasPrefix(l.Text, "fixture: listening on") {
				listening = l.Time
			}
		}
		if listening.IsZero() {
			b.Fatal("no listening line")
		}
		samples = append(samples, e.Time.Sub(listening))
		b.StopTimer()
		h.stop("sprinter")
		b.StartTimer()
	}
	b.StopTimer()
	quantiles(b, "ms", samples)
}

// BenchmarkLogCapture: the fixture writes 200 MiB to stdout; throughput
// through the supervisor (ring + rotated file + slog at Warn, which drops
// stdout lines as a production console logger would under a flood) against
// the same fixture writing to /dev/null.
func BenchmarkLogCapture(b *testing.B) {
	const volume = 200 << 20
	bin := testutil.BuildFixture(b)
	port := testutil.FreePort(b)
	args := []string{"-flood-bytes", strconv.Itoa(volume), "-flood-then-exit", "-no-listen"}
	// Baseline: the fixture alone, output to /dev/null.
	base := time.Now()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "APP_PORT="+strconv.Itoa(port))
	if err := cmd.Run(); err != nil {
		b.Fatal(err)
	}
	baseDur := time.Since(base)

	spec := fixtureSpec(b, "flood", args...)
	spec.StartupTimeout = time.Hour
	logger := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))
	h := newHarness(b, Options{Logger: logger}, spec)
	ch, cancel := h.sup.Subscribe()
	defer cancel()
	b.SetBytes(volume)
	b.ResetTimer()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		h.start("flood")
		nextEvent(b, ch, "flood", func(e Event) bool { return e.Status.State == Exited })
		total += time.Since(t0)
	}
	b.StopTimer()
	mbps := float64(volume) * float64(b.N) / total.Seconds() / 1e6
	b.ReportMetric(mbps, "MB/s-supervised")
	b.ReportMetric(float64(volume)/baseDur.Seconds()/1e6, "MB/s-devnull")
	b.ReportMetric(float64(peakRSS())/(1<<20), "peak-RSS-MiB")
	if n := h.sup.Logs("flood").Len(); n > 5000 {
		b.Fatalf("ring holds %d lines", n)
	}
}

// peakRSS is this process's high-water resident memory (VmHWM), in bytes.
func peakRSS() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

var _ = context.Background
