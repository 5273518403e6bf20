// Package gcpace lets Go's garbage collector run by need alone while
// nobody looks at the app.
//
// Go collects at least every two minutes, even when nothing was allocated
// since the last collection (the runtime's forced GC). An idle app
// allocates almost nothing, so each of those collections marks the same
// live heap again for nothing, and wakes the runtime's threads to do it.
// Hidden in the tray with two sidecars, those collections were more than
// everything else the app did: 0.126 and 0.079 % of a core with them,
// 0.050 and 0.067 % with GOGC off (same build, our 2-core test machine).
//
// The runtime forces collections only while GOGC is on. So while idle,
// GOGC is off and a memory limit takes its place, set so that the
// runtime's heap goal is where GOGC=100 would put it (idleLimit); the
// limit moves after every collection. Memory peaks where it would have
// anyway; collections come when allocation needs them. A person who set
// GOGC or GOMEMLIMIT keeps what they set.
package gcpace

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// minGoal is the runtime's own smallest heap goal (GOGC=100): a tiny heap
// must not be collected over and over.
const minGoal = 4 << 20

var (
	mu      sync.Mutex
	idle    bool
	gen     uint64 // bumped each time idle turns on: older hooks stop
	percent int    // GOGC before idle
	limit   int64  // the memory limit before idle
)

// SetIdle says whether anyone looks at the app (see the package comment).
// Safe from any goroutine; only a change does anything.
func SetIdle(on bool) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	mu.Lock()
	defer mu.Unlock()
	if on == idle {
		return
	}
	idle = on
	if !on {
		debug.SetGCPercent(percent) // first, so that no moment has neither trigger
		debug.SetMemoryLimit(limit)
		return
	}
	gen++
	limit = debug.SetMemoryLimit(-1)
	debug.SetMemoryLimit(idleLimit())
	percent = debug.SetGCPercent(-1)
	arm(gen)
}

// sentinel is garbage the moment it is made, so its cleanup runs after
// the next collection: the hook that moves the limit. Large enough that
// the allocator never packs it with other objects.
type sentinel [4]int64

func arm(g uint64) {
	runtime.AddCleanup(new(sentinel), collected, g)
}

// collected runs (on the runtime's cleanup goroutine) after a collection.
func collected(g uint64) {
	mu.Lock()
	defer mu.Unlock()
	if !idle || g != gen {
		return
	}
	debug.SetMemoryLimit(idleLimit())
	arm(g)
}

// idleLimit is the memory limit that puts the runtime's heap goal where
// GOGC=100 would put it. With GOGC off, the runtime takes its goal from
// the limit: the limit, less the memory it holds outside heap objects
// (its non-heap memory: stacks, its own structures, fragmentation), less
// a headroom of 3 % (at least 1 MiB). So the limit is that memory, plus
// GOGC=100's goal (the live heap, plus the live heap, stacks and globals
// again; at least 4 MiB), plus the headroom.
func idleLimit() int64 {
	var s [len(samplesNames)]metrics.Sample
	for i, n := range samplesNames {
		s[i].Name = n
	}
	metrics.Read(s[:])
	v := func(i int) uint64 {
		if s[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return s[i].Value.Uint64()
	}
	total, released, free, objects := v(0), v(1), v(2), v(3)
	live, stacks, globals := v(4), v(5), v(6)
	var nonHeap uint64 // the runtime's mappedReady - heapFree - heapAlloc
	if held := total - min(released, total); held > free+objects {
		nonHeap = held - free - objects
	}
	goal := max(2*live+stacks+globals, minGoal)
	l := nonHeap + goal + max(goal/100*3, 1<<20)
	if l > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(l)
}

var samplesNames = [...]string{
	"/memory/classes/total:bytes",
	"/memory/classes/heap/released:bytes",
	"/memory/classes/heap/free:bytes",
	"/memory/classes/heap/objects:bytes",
	"/gc/heap/live:bytes",
	"/gc/scan/stack:bytes",
	"/gc/scan/globals:bytes",
}
