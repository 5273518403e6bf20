//go:build unix

package watchdog

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"outrigger/core/config"
	"outrigger/core/supervisor"
	"outrigger/internal/testutil"
)

// A restart table the validator accepts — initial_backoff and max_backoff
// "0s" (no backoff at all) — restarts at once, however many failures.
// Before, 0 × Multiplier^k turned NaN once the power overflowed (from the
// 4th failure with multiplier 1e300, the 1 026th with 2), and a NaN
// duration is MinInt64: "restarting in -2562047h47m16s", and a next
// restart 292 years in the past.
func TestZeroBackoffNeverGivesANegativeDelay(t *testing.T) {
	for _, tc := range []struct {
		mult  float64
		fails int
	}{{1e300, 6}, {2, 1100}} {
		spec := config.RestartSpec{Policy: config.PolicyOnFailure, InitialBackoff: 0, MaxBackoff: 0,
			Multiplier: tc.mult, Jitter: 0.2, MaxRetries: config.UnlimitedRetries, StableAfter: time.Minute}
		cfg := config.Defaults()
		cfg.Sidecars[0].Restart = spec
		if err := cfg.Validate(); err != nil {
			t.Fatalf("the validator refuses %+v: %v", spec, err)
		}
		p := NewPolicy(spec, func() float64 { return 0.5 })
		for n := 1; n <= tc.fails; n++ {
			d := p.Exited(crash, time.Unix(0, 0))
			if !d.Restart || d.Delay != 0 {
				t.Fatalf("multiplier %g, failure %d: delay %v (%s), want an immediate restart", tc.mult, n, d.Delay, d.Reason)
			}
		}
	}
}

// sweepCounter counts Snapshot calls (one per sweep or check).
type sweepCounter struct {
	fakeTarget
	n atomic.Int64
}

func (c *sweepCounter) Snapshot() []supervisor.Status {
	c.n.Add(1)
	return c.fakeTarget.Snapshot()
}

// A watcher that comes and goes, while another holds the sweep at its
// period, does not push the next sweep back. Before, every change of
// watchers reset the timer to a whole period: a client reopening a
// ?metrics=1 stream more often than the period stopped the sweep (no
// figures, no check of adopted processes) for as long as it went on.
func TestWatcherChurnDoesNotStarveTheSweep(t *testing.T) {
	c := &sweepCounter{fakeTarget: fakeTarget{gone: map[string]string{}}}
	w := New(c, 50*time.Millisecond, slog.New(slog.NewTextHandler(io.Discard, nil)))
	w.idle = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	defer func() { cancel(); <-done }()

	stop := w.Watch(50 * time.Millisecond)
	defer stop()
	testutil.Eventually(t, wait, func() bool { return c.n.Load() >= 2 }, "the first sweeps")
	before := c.n.Load()
	// Every 10 ms a second watcher comes and goes, until five more sweeps
	// have run (a quarter of a second at this period).
	deadline := time.Now().Add(wait)
	for c.n.Load() < before+5 {
		if time.Now().After(deadline) {
			t.Fatalf("%d sweeps in %s at a 50 ms period while a second watcher came and went", c.n.Load()-before, wait)
		}
		w.Watch(50 * time.Millisecond)()
		time.Sleep(10 * time.Millisecond) // the churn's pace, faster than the period
	}
}
