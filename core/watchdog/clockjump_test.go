//go:build unix

package watchdog

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"outrigger/core/config"
	"outrigger/core/supervisor"
	"outrigger/internal/testutil"
)

// jumpClock is time.Now after someone set the system clock: the wall
// reading moved by an offset the test changes at will, the monotonic
// reading untouched (settimeofday and NTP steps move CLOCK_REALTIME only;
// Go's monotonic reading and runtime timers follow CLOCK_MONOTONIC). The
// host's clock is shared by every run on the machine, so the jump happens
// in the clock the supervisor is given, not in the kernel.
type jumpClock struct{ off atomic.Int64 }

func (c *jumpClock) set(d time.Duration) { c.off.Store(int64(d)) }
func (c *jumpClock) Now() time.Time      { return shiftWall(time.Now(), time.Duration(c.off.Load())) }

// shiftWall moves t's wall reading by d (whole seconds) and keeps its
// monotonic reading. The time package has no such operation (Add moves
// both), so it edits the first word of time.Time: with the monotonic flag
// (bit 63) set, bits 30–62 count seconds since 1885. TestShiftWall checks
// the result through the public API, so a changed layout fails loudly.
func shiftWall(t time.Time, d time.Duration) time.Time {
	w := (*uint64)(unsafe.Pointer(&t))
	*w += uint64(int64(d/time.Second)) << 30
	return t
}

func TestShiftWall(t *testing.T) {
	t0 := time.Now()
	for _, d := range []time.Duration{time.Hour, -time.Hour, 0} {
		j := shiftWall(t0, d)
		if got := j.Sub(t0); got != 0 {
			t.Errorf("shift %v: monotonic difference %v, want 0", d, got)
		}
		if got := j.Round(0).Sub(t0.Round(0)); got != d {
			t.Errorf("shift %v: wall difference %v", d, got)
		}
		if !strings.Contains(j.String(), " m=") {
			t.Errorf("shift %v: %v lost its monotonic reading", d, j)
		}
	}
}

// recordingPolicy is the real policy, keeping every decision and the
// time it was given.
type recordingPolicy struct {
	supervisor.RestartPolicy
	mu   sync.Mutex
	seen []decided
}

type decided struct {
	at time.Time // the now the policy was given
	d  supervisor.Decision
}

func (p *recordingPolicy) Exited(info supervisor.ExitInfo, now time.Time) supervisor.Decision {
	d := p.RestartPolicy.Exited(info, now)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seen = append(p.seen, decided{now, d})
	return d
}

func (p *recordingPolicy) decisions() []decided {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]decided(nil), p.seen...)
}

// TestClockJumpDuringBackoff: the wall clock jumping an hour forwards and
// backwards while a sidecar runs or backs off changes neither how long the
// backoff lasts nor whether a run counts as stable. A backoff waited on
// the wall clock would restart at once after the forward jump or an hour
// late after the backward one; a stable-run check on wall time would
// forgive failures after the forward jump and never after the backward one.
func TestClockJumpDuringBackoff(t *testing.T) {
	clk := &jumpClock{}
	restart := config.RestartSpec{Policy: "always", InitialBackoff: 2 * time.Second, MaxBackoff: 10 * time.Second,
		Multiplier: 2, MaxRetries: -1}
	// jumpy counts as stable only after 30 minutes: an hour of wall clock
	// would be enough, seconds of monotonic time are not.
	jumpy := spec(t, "jumpy")
	jumpy.Restart = restart
	jumpy.Restart.StableAfter = 30 * time.Minute
	// calm counts as stable after a second of monotonic time, which an
	// hour's backward jump would hide.
	calm := spec(t, "calm")
	calm.Restart = restart
	calm.Restart.StableAfter = time.Second
	pols := map[string]*recordingPolicy{}
	var pmu sync.Mutex
	r := newRigWith(t, supervisor.Options{
		Now: clk.Now,
		Policy: func(s config.Spec) supervisor.RestartPolicy {
			p := &recordingPolicy{RestartPolicy: Factory(s)}
			pmu.Lock()
			pols[s.Name] = p
			pmu.Unlock()
			return p
		},
	}, jumpy, calm)

	kill := func(name string) supervisor.Status {
		t.Helper()
		st := r.ready(name)
		if err := syscall.Kill(st.PID, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		return st
	}
	restarted := func(name string, old supervisor.Status) supervisor.Status {
		t.Helper()
		return r.until(name+" ready again", func(s supervisor.Status) bool {
			return s.State == supervisor.Ready && s.PID != old.PID
		}, name)
	}
	// The jumps during jumpy's backoffs: the supervisor announces a
	// backoff after it has read the clock for it, so the jump lands
	// between that and the end of the backoff (checked below).
	jumped := map[int]time.Time{} // attempt → when the clock jumped
	var jmu sync.Mutex
	evs, unsub := r.sup.Subscribe()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for e := range evs {
			if e.Sidecar != "jumpy" || e.Kind != supervisor.EventRestarting {
				continue
			}
			switch e.Attempt {
			case 2:
				clk.set(0) // back an hour
			case 3:
				clk.set(time.Hour) // forwards an hour
			default:
				continue
			}
			jmu.Lock()
			jumped[e.Attempt] = time.Now()
			jmu.Unlock()
		}
	}()
	t.Cleanup(func() { unsub(); wg.Wait() })
	ctx := context.Background()
	for _, n := range []string{"jumpy", "calm"} {
		if err := r.sup.Start(ctx, n); err != nil {
			t.Fatal(err)
		}
	}

	// 1: a crash, restarted at once.
	restarted("jumpy", kill("jumpy"))
	// 2: an hour forwards while it runs, then a crash seconds later: not a
	// stable run, so the second consecutive failure backs off; during that
	// backoff the clock goes back an hour.
	clk.set(time.Hour)
	st2 := restarted("jumpy", kill("jumpy"))
	// 3: a crash; during its backoff the clock goes forwards an hour.
	st3 := restarted("jumpy", kill("jumpy"))

	pmu.Lock()
	pj, pc := pols["jumpy"], pols["calm"]
	pmu.Unlock()
	ds := pj.decisions()
	if len(ds) != 3 {
		t.Fatalf("jumpy: %d restart decisions, want 3", len(ds))
	}
	if off := ds[1].at.Round(0).Sub(time.Now().Round(0)); off < 50*time.Minute || off > 70*time.Minute {
		t.Fatalf("the supervisor's clock read %v against the real wall clock, want about +1h: the jump did not reach it", off)
	}
	for i, want := range []struct {
		attempt int
		delay   time.Duration
	}{{1, 0}, {2, 2 * time.Second}, {3, 4 * time.Second}} {
		if d := ds[i].d; d.Attempt != want.attempt || d.Delay != want.delay {
			t.Errorf("decision %d: attempt %d delay %v, want attempt %d delay %v (a stable-run check on wall time resets the count after the forward jump)",
				i+1, d.Attempt, d.Delay, want.attempt, want.delay)
		}
	}
	// The backoffs lasted their monotonic length: the restart of decision 2
	// (clock back an hour) and of decision 3 (forwards an hour) came no
	// sooner than the delay, and they came at all (r.until's deadline).
	checkBackoff := func(i int, d decided, next supervisor.Status) {
		if next.StartedAt == nil {
			t.Fatalf("decision %d: restarted run has no start time", i)
		}
		if waited := next.StartedAt.Sub(d.at); waited < d.d.Delay {
			t.Errorf("decision %d: restarted %v after the crash, before its %v backoff ended", i, waited, d.d.Delay)
		}
		jmu.Lock()
		j, ok := jumped[i]
		jmu.Unlock()
		if !ok || !j.Before(*next.StartedAt) {
			t.Errorf("decision %d: the clock jump (at %v) did not fall inside the backoff (restart at %v)", i, j, next.StartedAt)
		}
	}
	checkBackoff(2, ds[1], st2)
	checkBackoff(3, ds[2], st3)
	if !strings.Contains(st3.StartedAt.String(), " m=") {
		t.Errorf("start time %v has no monotonic reading", st3.StartedAt)
	}

	// calm: a crash restarted at once, then an hour backwards while it
	// runs; after more than StableAfter of monotonic time a crash is a
	// fresh one (attempt 1, at once), though by the wall clock the run
	// began an hour in the future.
	clk.set(0)
	calmReady := restarted("calm", kill("calm"))
	clk.set(-time.Hour)
	testutil.Eventually(t, wait, func() bool { return time.Since(*calmReady.ReadyAt) > 1500*time.Millisecond }, "calm ready for 1.5 s")
	restarted("calm", kill("calm"))
	cd := pc.decisions()
	if len(cd) != 2 {
		t.Fatalf("calm: %d restart decisions, want 2", len(cd))
	}
	if d := cd[1].d; d.Attempt != 1 || d.Delay != 0 {
		t.Errorf("calm after a stable run and the clock back an hour: attempt %d delay %v, want a fresh crash (attempt 1, at once)", d.Attempt, d.Delay)
	}
}
