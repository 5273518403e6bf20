//go:build unix

package supervisor

import (
	"context"
	"testing"
	"time"

	"outrigger/core/config"
	"outrigger/internal/testutil"
)

// y uses ${url:x}; x's Ready state event is followed by a metrics report
// before the address follower reads it. The two are coalesced into one
// event, which must still be a state event: as a metrics event (before)
// the follower skipped it, and y was never asked to check its addresses
// against x's possibly moved port.
func TestAddressFollowerHearsAReadyAMetricsSampleFollowed(t *testing.T) {
	mk := func(name string, env map[string]string) *sidecar {
		c := &sidecar{name: name, mail: mailbox{wake: make(chan struct{}, 1)}, dead: make(chan struct{})}
		sp := config.Spec{Name: name, Env: env}
		c.spec.Store(&sp)
		return c
	}
	s := &Supervisor{bus: newBus(), done: make(chan struct{}), cars: map[string]*sidecar{}}
	for _, c := range []*sidecar{
		mk("x", nil), mk("y", map[string]string{"X_URL": "${url:x}"}),
		mk("z", nil), mk("w", map[string]string{"Z_URL": "${url:z}"}), // sentinel pair
		mk("busy", nil),
	} {
		s.order = append(s.order, c.name)
		s.cars[c.name] = c
	}
	events, unsub := s.bus.Subscribe(nil)
	// What the loops publish while the follower is busy (not yet reading).
	s.bus.Publish(Event{Sidecar: "busy", Kind: EventState, Status: Status{Name: "busy", State: Starting}})
	s.bus.Publish(Event{Sidecar: "x", Kind: EventState, Status: Status{Name: "x", State: Ready, Port: 8012}})
	s.bus.Publish(Event{Sidecar: "x", Kind: EventMetrics, Status: Status{Name: "x", State: Ready, Port: 8012, RSSBytes: 1}})
	s.bus.Publish(Event{Sidecar: "z", Kind: EventState, Status: Status{Name: "z", State: Ready}})
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.followAddresses(events, unsub)
	}()
	defer func() {
		close(s.done)
		<-done
		s.bus.Close()
	}()
	pending := func(c *sidecar) bool {
		c.mail.mu.Lock()
		defer c.mail.mu.Unlock()
		return c.mail.pending[cmdAddresses] != nil
	}
	// The follower has handled everything before z's Ready once w is asked.
	testutil.Eventually(t, wait, func() bool { return pending(s.cars["w"]) }, "the follower to handle the sentinel")
	if !pending(s.cars["y"]) {
		t.Fatal("x became Ready (possibly on a moved port) but y was never asked to refresh its addresses: " +
			"x's EventState was coalesced into an EventMetrics and followAddresses skips those")
	}
}

// A subscriber's first events (the snapshot) and the live ones meet
// exactly: a status change published while Subscribe runs is in one or
// the other. Before, Subscribe took the snapshot and then registered, and
// a change published in between was in neither: the subscriber kept the
// old status until that sidecar's next event (a stable Ready sidecar may
// publish nothing but metrics for a long time). The change used here is
// the removed-from-file note (a plain EventState); no process is needed.
// It failed within 2 to 18 rounds before.
func TestSubscribeMissesNoPublish(t *testing.T) {
	a := fixtureSpec(t, "a")
	h := newHarness(t, Options{BinDirs: []string{testutil.TempDir(t)}}, a)
	c := h.sup.cars["a"]
	ctx := context.Background()
	for i := 0; i < 150; i++ {
		what := ""
		if i%2 == 0 {
			what = removedNote
		}
		flipped := make(chan struct{})
		go func() {
			defer close(flipped)
			_ = h.sup.request(ctx, c, command{kind: cmdNote, what: what})
		}()
		ch, unsub := h.sup.Subscribe()
		<-flipped
		want, _ := h.sup.Status("a")
		var last Event
		quiet := time.NewTimer(20 * time.Millisecond)
	drain:
		for {
			select {
			case e := <-ch:
				if e.Sidecar == "a" {
					last = e
				}
				quiet.Reset(20 * time.Millisecond)
			case <-quiet.C:
				break drain
			}
		}
		if last.Status.Reason != want.Reason { // a slow pump? give it time
			late := time.After(time.Second)
		more:
			for {
				select {
				case e := <-ch:
					if e.Sidecar == "a" {
						last = e
					}
				case <-late:
					break more
				}
			}
		}
		unsub()
		if last.Status.Reason != want.Reason {
			t.Fatalf("iteration %d: the subscriber's last event says reason %q, the sidecar's status is %q, and no event is coming",
				i, last.Status.Reason, want.Reason)
		}
	}
}
