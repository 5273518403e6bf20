//go:build unix

package supervisor

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"outrigger/core/logs"
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

// BenchmarkReadyDetection: the fixture's listener is up → Ready event; the
// time its "listening" line was read is the earliest moment we could know.
// Two servers: one that prints a single line right after binding, and a
// uvicorn-style one that prints two startup lines 2 ms before it binds (the
// case the kick throttle decides).
func BenchmarkReadyDetection(b *testing.B) {
	for _, bc := range []struct {
		name string
		args []string
	}{
		{"one-line-server", []string{"-start-delay", "150ms"}},
		{"uvicorn-style-2-lines-2ms-before-bind", []string{"-stderr-line", "INFO:     Started server process",
			"-invalid-utf8", "-start-delay", "2ms"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h := newHarness(b, Options{}, fixtureSpec(b, "sprinter", bc.args...))
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
		})
	}
}

// BenchmarkLogCapture: the fixture writes 200 MiB of 100-byte lines to
// stdout; throughput through the supervisor against the same fixture
// writing to /dev/null. Wired as main.go wires the app:
//
//   - app-wiring: the app logger of logs.NewLogger (console + JSON file at
//     Info) and no console for sidecar lines — the window, or headless with
//     the console not a terminal. Sidecar lines reach the ring and the
//     per-sidecar file, formatted once each.
//   - console-info: as headless on a terminal or --verbose: every line is
//     also formatted by tint for the console (here io.Discard).
//   - console-filtered-warn: a console at Warn, which drops stdout lines (a
//     figure for comparison only: the app never wires this).
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

	appLog, closeApp, err := logs.NewLogger(io.Discard, filepath.Join(b.TempDir(), "outrigger.log"), slog.LevelInfo)
	if err != nil {
		b.Fatal(err)
	}
	defer closeApp.Close()
	tintInfo, _, _ := logs.NewLogger(io.Discard, "", slog.LevelInfo)
	tintWarn, _, _ := logs.NewLogger(io.Discard, "", slog.LevelWarn)
	for _, bc := range []struct {
		name    string
		console *slog.Logger
	}{
		{"app-wiring", nil},
		{"console-info", tintInfo},
		{"console-filtered-warn", tintWarn},
	} {
		b.Run(bc.name, func(b *testing.B) {
			spec := fixtureSpec(b, "flood", args...)
			spec.StartupTimeout = time.Hour
			h := newHarness(b, Options{Logger: appLog, Console: bc.console}, spec)
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
		})
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
