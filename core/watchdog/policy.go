// Package watchdog is Outrigger's recovery path: the restart policy that
// decides what a crash leads to, the sweep that checks every supervised
// process with gopsutil and samples its CPU and memory, and the orphan
// sweep that ends what an earlier, killed run left behind.
package watchdog

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"outrigger/core/config"
	"outrigger/core/supervisor"
)

// Policy is the restart policy of one sidecar: a small state machine with
// no clock of its own (every call gets now) and an injectable random source
// for the jitter, so it is tested without time.
type Policy struct {
	spec     config.RestartSpec
	rand     func() float64 // [0, 1)
	failures int            // consecutive failed runs
	readyAt  time.Time      // when it last became Ready
}

// NewPolicy makes a policy; rnd nil means math/rand.
func NewPolicy(spec config.RestartSpec, rnd func() float64) *Policy {
	if rnd == nil {
		rnd = rand.Float64
	}
	return &Policy{spec: spec, rand: rnd}
}

// Factory adapts NewPolicy to supervisor.Options.Policy.
func Factory(spec config.Spec) supervisor.RestartPolicy { return NewPolicy(spec.Restart, nil) }

// Ready notes the time the sidecar became Ready: staying Ready for
// StableAfter forgives earlier failures.
func (p *Policy) Ready(now time.Time) { p.readyAt = now }

// Reset forgets every failure (a manual Start).
func (p *Policy) Reset() {
	p.failures = 0
	p.readyAt = time.Time{}
}

// Exited decides what an unrequested end leads to. The first restart after
// a crash is immediate — a desktop user should not wait for a rare crash —
// and repeated failures back off exponentially with jitter, up to
// MaxRetries consecutive failures, after which it gives up.
func (p *Policy) Exited(info supervisor.ExitInfo, now time.Time) supervisor.Decision {
	if info.WasReady && !p.readyAt.IsZero() && now.Sub(p.readyAt) >= p.spec.StableAfter {
		p.failures = 0 // it ran fine long enough: this is a fresh crash, not a loop
	}
	switch p.spec.Policy {
	case "never":
		return supervisor.Decision{Reason: "restart policy is never"}
	case "on-failure", "":
		if info.Exit.Code == 0 && info.Exit.Signal == "" && info.Cause == "" {
			return supervisor.Decision{Reason: "exited cleanly; restart policy is on-failure"}
		}
	}
	p.failures++
	d := supervisor.Decision{Attempt: p.failures}
	if p.spec.MaxRetries >= 0 && p.failures > p.spec.MaxRetries {
		d.GiveUp = true
		d.Reason = fmt.Sprintf("gave up after %d consecutive failures (max_retries %d); Start resets it",
			p.failures, p.spec.MaxRetries)
		return d
	}
	d.Restart = true
	d.Delay = p.delay(p.failures)
	if d.Delay == 0 {
		d.Reason = fmt.Sprintf("restarting now (attempt %d)", p.failures)
	} else {
		d.Reason = fmt.Sprintf("restarting in %s (attempt %d)", d.Delay.Round(time.Millisecond), p.failures)
	}
	return d
}

// delay for the n-th consecutive failure: 0 for the first, then
// InitialBackoff × Multiplier^(n-2), capped at MaxBackoff, ±Jitter.
func (p *Policy) delay(n int) time.Duration {
	if n <= 1 {
		return 0
	}
	mult := p.spec.Multiplier
	if mult < 1 {
		mult = 2
	}
	if p.spec.InitialBackoff <= 0 {
		return 0 // 0 × Multiplier^k is 0, also when Multiplier^k overflows to +Inf (0 × Inf = NaN)
	}
	base := float64(p.spec.InitialBackoff) * math.Pow(mult, float64(n-2))
	if max := float64(p.spec.MaxBackoff); max > 0 && base > max {
		base = max
	}
	j := p.spec.Jitter
	if j > 0 {
		base *= 1 + j*(2*p.rand()-1)
	}
	// A float beyond int64 (or NaN) converts to MinInt64 on amd64: a
	// negative delay. Keep it within what a Duration holds.
	if !(base < float64(math.MaxInt64)) {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(base)
}
