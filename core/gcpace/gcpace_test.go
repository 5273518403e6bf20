package gcpace

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

// settings reads GOGC and the memory limit without changing them.
func settings() (int, int64) {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p, debug.SetMemoryLimit(-1)
}

func numGC() uint32 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.NumGC
}

var sink []byte

// garbage allocates n bytes in 64 KiB pieces, each dropped at once.
func garbage(n int) {
	for i := 0; i < n; i += 64 << 10 {
		sink = make([]byte, 64<<10)
	}
	sink = nil
}

func TestIdleSwapsTheClockForALimit(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	p0, l0 := settings()
	SetIdle(true)
	t.Cleanup(func() { SetIdle(false) })
	p, l := settings()
	if p != -1 {
		t.Fatalf("GOGC while idle = %d, want off (-1)", p)
	}
	if l == math.MaxInt64 || l < minGoal {
		t.Fatalf("memory limit while idle = %d, want a limit", l)
	}
	SetIdle(false)
	if p, l := settings(); p != p0 || l != l0 {
		t.Fatalf("after idle: GOGC %d, limit %d; want %d, %d as before", p, l, p0, l0)
	}
}

// While idle, allocation still brings collections (the limit), and the
// limit follows the live heap instead of creeping up cycle by cycle.
func TestIdleCollectsByNeed(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	runtime.GC()
	SetIdle(true)
	t.Cleanup(func() { SetIdle(false) })
	_, first := settings()
	before := numGC()
	var limits []int64
	deadline := time.Now().Add(30 * time.Second)
	for numGC()-before < 6 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d collections while allocating %d MiB over and over under a limit of %d MiB",
				numGC()-before, first>>20, first>>20)
		}
		garbage(int(first))
		_, l := settings()
		limits = append(limits, l)
	}
	for _, l := range limits {
		if l > first+first/2 {
			t.Fatalf("the limit crept up: %d MiB after starting at %d MiB (limits %v)", l>>20, first>>20, limits)
		}
	}
}

func heapGoal() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/goal:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// Idle moves no goalpost: the heap may grow as far as under GOGC=100
// before it is collected, not less (more collections) nor much more.
func TestIdleKeepsTheHeapGoal(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	keep := make([][]byte, 0, 256) // a live heap of 16 MiB, so the goal is not the minimum
	for range 256 {
		keep = append(keep, make([]byte, 64<<10))
	}
	runtime.GC()
	want := heapGoal()
	SetIdle(true)
	t.Cleanup(func() { SetIdle(false) })
	got := heapGoal()
	runtime.KeepAlive(keep)
	if d := int64(got) - int64(want); d < -int64(want)/20 || d > int64(want)/20 {
		t.Fatalf("heap goal while idle %d KiB, under GOGC=100 %d KiB: more than 5 %% apart", got>>10, want>>10)
	}
}

func TestSetGOGCWins(t *testing.T) {
	t.Setenv("GOGC", "100")
	p0, l0 := settings()
	SetIdle(true)
	t.Cleanup(func() { SetIdle(false) })
	if p, l := settings(); p != p0 || l != l0 {
		t.Fatalf("with GOGC set, idle changed GOGC to %d and the limit to %d", p, l)
	}
}

// Memory held from a larger heap (a window that was used, then hidden)
// must not put the runtime over the limit: over it, the runtime collects
// again and again until the scavenger has given the memory back.
func TestIdleAfterAShrunkHeapCollectsCalmly(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	big := make([][]byte, 0, 1024)
	for range 1024 {
		big = append(big, make([]byte, 64<<10)) // 64 MiB live
	}
	runtime.KeepAlive(big)
	big = nil
	runtime.GC() // freed, still held by the runtime
	SetIdle(true)
	t.Cleanup(func() { SetIdle(false) })
	before := numGC()
	garbage(2 << 20)
	if n := numGC() - before; n > 2 {
		t.Fatalf("%d collections while allocating 2 MiB with 64 MiB held", n)
	}
}
