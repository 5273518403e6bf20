package watchdog

import (
	"strings"
	"testing"
	"time"

	"outrigger/core/config"
	"outrigger/core/supervisor"
)

func defaults() config.RestartSpec {
	return config.RestartSpec{Policy: "on-failure", InitialBackoff: 500 * time.Millisecond, MaxBackoff: 30 * time.Second,
		Multiplier: 2, Jitter: 0.2, MaxRetries: 10, StableAfter: time.Minute}
}

var crash = supervisor.ExitInfo{Exit: supervisor.Exit{Code: 1}}

func TestDelaySequenceWithoutJitter(t *testing.T) {
	spec := defaults()
	spec.Jitter = 0
	p := NewPolicy(spec, nil)
	now := time.Unix(1000, 0)
	want := []time.Duration{0, 500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second,
		8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second, 30 * time.Second}
	for i, w := range want {
		d := p.Exited(crash, now)
		if !d.Restart || d.Delay != w || d.Attempt != i+1 {
			t.Fatalf("failure %d: %+v, want restart after %v", i+1, d, w)
		}
		now = now.Add(d.Delay + time.Second)
	}
	d := p.Exited(crash, now)
	if !d.GiveUp || d.Restart || !strings.Contains(d.Reason, "gave up after 11") {
		t.Fatalf("failure 11: %+v, want give up", d)
	}
}

func TestJitterBounds(t *testing.T) {
	for _, r := range []float64{0, 0.25, 0.5, 0.999999} {
		p := NewPolicy(defaults(), func() float64 { return r })
		now := time.Unix(0, 0)
		p.Exited(crash, now) // immediate
		for n := 2; n <= 10; n++ {
			d := p.Exited(crash, now)
			base := 500 * time.Millisecond << (n - 2)
			if base > 30*time.Second {
				base = 30 * time.Second
			}
			lo, hi := time.Duration(float64(base)*0.8), time.Duration(float64(base)*1.2)
			if d.Delay < lo || d.Delay > hi {
				t.Fatalf("r=%v failure %d: delay %v outside [%v, %v]", r, n, d.Delay, lo, hi)
			}
		}
	}
	p := NewPolicy(defaults(), func() float64 { return 0 })
	p.Exited(crash, time.Time{})
	if d := p.Exited(crash, time.Time{}); d.Delay != 400*time.Millisecond {
		t.Fatalf("lowest jitter on 500ms = %v, want 400ms", d.Delay)
	}
}

func TestResetAfterStable(t *testing.T) {
	p := NewPolicy(defaults(), func() float64 { return 0.5 })
	now := time.Unix(0, 0)
	for i := 0; i < 5; i++ {
		p.Exited(crash, now)
	}
	p.Ready(now)
	ready := supervisor.ExitInfo{Exit: supervisor.Exit{Code: 1}, WasReady: true}
	if d := p.Exited(ready, now.Add(59*time.Second)); d.Attempt != 6 {
		t.Fatalf("crash 59s after Ready: attempt %d, want 6 (not yet stable)", d.Attempt)
	}
	p.Ready(now.Add(60 * time.Second))
	if d := p.Exited(ready, now.Add(120*time.Second)); d.Attempt != 1 || d.Delay != 0 {
		t.Fatalf("crash after 60s Ready: %+v, want a fresh immediate restart", d)
	}
}

func TestGiveUpAndManualReset(t *testing.T) {
	spec := defaults()
	spec.MaxRetries = 2
	p := NewPolicy(spec, nil)
	p.Exited(crash, time.Time{})
	p.Exited(crash, time.Time{})
	if d := p.Exited(crash, time.Time{}); !d.GiveUp {
		t.Fatalf("third failure with max_retries 2: %+v, want give up", d)
	}
	p.Reset()
	if d := p.Exited(crash, time.Time{}); !d.Restart || d.Delay != 0 || d.Attempt != 1 {
		t.Fatalf("after Reset: %+v, want an immediate first restart", d)
	}
}

func TestPolicies(t *testing.T) {
	clean := supervisor.ExitInfo{Exit: supervisor.Exit{Code: 0}}
	killed := supervisor.ExitInfo{Exit: supervisor.Exit{Code: -1, Signal: "killed"}}
	unhealthy := supervisor.ExitInfo{Exit: supervisor.Exit{Code: 0}, WasReady: true, Cause: "liveness failed"}
	for _, tc := range []struct {
		policy string
		info   supervisor.ExitInfo
		want   bool
	}{
		{"on-failure", clean, false},
		{"on-failure", crash, true},
		{"on-failure", killed, true},
		{"on-failure", unhealthy, true},
		{"always", clean, true},
		{"never", crash, false},
		{"never", killed, false},
	} {
		spec := defaults()
		spec.Policy = tc.policy
		if d := NewPolicy(spec, nil).Exited(tc.info, time.Time{}); d.Restart != tc.want {
			t.Errorf("%s after %+v: restart=%v, want %v (%s)", tc.policy, tc.info, d.Restart, tc.want, d.Reason)
		}
	}
}
