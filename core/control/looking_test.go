package control

import (
	"sync/atomic"
	"testing"
	"time"

	"outrigger/internal/testutil"
)

// Status requests hold one watch for a while after the last of them; a
// metrics stream holds it while it lasts; Close ends it for good.
func TestLookingHoldsOneWatch(t *testing.T) {
	var active, asked atomic.Int32
	l := &looking{hold: 100 * time.Millisecond, watch: func() func() {
		active.Add(1)
		asked.Add(1)
		return func() { active.Add(-1) }
	}}
	l.glance()
	l.glance()
	if active.Load() != 1 || asked.Load() != 1 {
		t.Fatalf("two glances: %d active, %d asked; want one watch", active.Load(), asked.Load())
	}
	testutil.Eventually(t, 10*time.Second, func() bool { return active.Load() == 0 }, "the glance's hold to end")

	done := l.stream()
	l.glance()
	testutil.Eventually(t, 10*time.Second, func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.until.IsZero() // the glance's hold ended...
	}, "the glance's hold to end while the stream lasts")
	if active.Load() != 1 {
		t.Fatalf("a stream is open: %d active, want 1", active.Load())
	}
	done()
	done()
	if active.Load() != 0 {
		t.Fatalf("stream ended: %d active, want 0", active.Load())
	}

	l.glance()
	l.close()
	l.glance()
	if active.Load() != 0 {
		t.Fatalf("after close: %d active, want 0", active.Load())
	}
}
