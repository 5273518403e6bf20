package supervisor

import (
	"testing"
	"time"
)

// Probes of sidecars Ready at different instants land on the same
// boundaries, and the gap between two probes of one sidecar stays the
// period.
func TestUntilAlignedSharesBoundaries(t *testing.T) {
	const period = 10 * time.Second
	base := time.Date(2026, 11, 27, 14, 0, 0, 0, time.UTC)
	want := base.Add(period)
	for _, off := range []time.Duration{time.Nanosecond, 3 * time.Millisecond, 4 * time.Second, period - 2*time.Millisecond} {
		now := base.Add(off)
		if got := now.Add(untilAligned(now, period)); !got.Equal(want) {
			t.Errorf("ready at +%s: first probe at %s, want %s", off, got.Format(time.RFC3339Nano), want.Format(time.RFC3339Nano))
		}
	}
	// A probe that answered at a boundary (or just after) waits a whole
	// period for the next.
	for _, after := range []time.Duration{0, 200 * time.Microsecond, 80 * time.Millisecond} {
		now := want.Add(after)
		if got := now.Add(untilAligned(now, period)); !got.Equal(want.Add(period)) {
			t.Errorf("probe done at boundary+%s: next at %s, want %s", after, got.Format(time.RFC3339Nano), want.Add(period).Format(time.RFC3339Nano))
		}
	}
	// Just before a boundary, the next boundary is skipped rather than
	// probed twice within a millisecond.
	now := want.Add(-100 * time.Microsecond)
	if d := untilAligned(now, period); d < period {
		t.Errorf("100 µs before a boundary: wait %s, want more than a period", d)
	}
}
