//go:build unix

package watchdog

import (
	"context"
	"io"
	"log/slog"
	"os/exec"
	"sort"
	"syscall"
	"testing"
	"time"

	"outrigger/core/config"
	"outrigger/core/proc"
	"outrigger/core/supervisor"
)

// BenchmarkKillToReady: kill -9 of a fast-starting sidecar → Ready again,
// through the real supervisor, restart policy and readiness probe.
//
//   - first-restart-after-stable-run: StableAfter is 1 ns, so every kill
//     comes after a stable run and is a first crash: the policy restarts at
//     once.
//   - second-crash-default-policy: the default restart policy (500 ms
//     initial backoff ±20 % jitter, stable after 60 s); a manual Start
//     resets it, a first kill restarts at once, and the figure is the second
//     kill → Ready, which waits out the backoff.
func BenchmarkKillToReady(b *testing.B) {
	kill := func(b *testing.B, r *rig) time.Duration {
		st, _ := r.sup.Status("phoenix")
		t0 := time.Now()
		if err := syscall.Kill(st.PID, syscall.SIGKILL); err != nil {
			b.Fatal(err)
		}
		r.until("ready again", func(n supervisor.Status) bool {
			return n.State == supervisor.Ready && n.PID != st.PID
		}, "phoenix")
		now, _ := r.sup.Status("phoenix")
		return now.ReadyAt.Sub(t0)
	}
	b.Run("first-restart-after-stable-run", func(b *testing.B) {
		s := spec(b, "phoenix")
		s.Restart.MaxRetries = -1               // many kills in a row must not give up
		s.Restart.StableAfter = time.Nanosecond // each kill comes after a stable run: a first crash
		r := newRig(b, s)
		if err := r.sup.Start(context.Background(), "phoenix"); err != nil {
			b.Fatal(err)
		}
		r.ready("phoenix")
		var samples []time.Duration
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			samples = append(samples, kill(b, r))
		}
		b.StopTimer()
		report(b, samples)
	})
	b.Run("second-crash-default-policy", func(b *testing.B) {
		s := spec(b, "phoenix")
		s.Restart = config.DefaultSpec("phoenix", s.Port).Restart
		r := newRig(b, s)
		var samples []time.Duration
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			ctx := context.Background()
			if i == 0 {
				if err := r.sup.Start(ctx, "phoenix"); err != nil {
					b.Fatal(err)
				}
			} else if err := r.sup.Restart(ctx, "phoenix"); err != nil { // resets the policy
				b.Fatal(err)
			}
			r.ready("phoenix")
			kill(b, r) // the first crash: restarted at once
			b.StartTimer()
			samples = append(samples, kill(b, r))
		}
		b.StopTimer()
		report(b, samples)
	})
}

func report(b *testing.B, samples []time.Duration) {
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	b.ReportMetric(float64(samples[len(samples)/2])/1e6, "median-ms")
	b.ReportMetric(float64(samples[len(samples)*9/10])/1e6, "p90-ms")
}

// BenchmarkSweep100: one sweep over 100 supervised processes. At a 1 s tick
// the share of one core is ns/op / 1e9.
func BenchmarkSweep100(b *testing.B) {
	const n = 100
	f := &fakeTarget{gone: map[string]string{}}
	for i := 0; i < n; i++ {
		cmd := exec.Command("sleep", "600")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		ct, _ := proc.CreateTime(cmd.Process.Pid)
		f.statuses = append(f.statuses, supervisor.Status{Name: "s" + string(rune('a'+i%26)) + string(rune('a'+i/26)),
			PID: cmd.Process.Pid, PGID: cmd.Process.Pid, CreateTime: ct})
	}
	w := New(f, time.Second, slog.New(slog.NewTextHandler(io.Discard, nil)))
	w.Sweep() // keep the *Process values, as the running watchdog does
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		w.Sweep()
	}
	per := time.Since(start) / time.Duration(b.N)
	b.StopTimer()
	if len(f.gone) != 0 {
		b.Fatalf("healthy processes reported gone: %v", f.gone)
	}
	b.ReportMetric(float64(per)/1e9*100, "%core@1s")
	b.ReportMetric(float64(per)/n/1e3, "µs/process")
}
