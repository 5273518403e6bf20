package supervisor

import (
	"testing"
	"time"
)

func TestBusSlowSubscriberGetsLatestNotBacklog(t *testing.T) {
	b := newBus()
	defer b.Close()
	ch, cancel := b.Subscribe(nil)
	defer cancel()
	// Nobody reads while 10 000 state changes and one notable event happen;
	// publish must never block.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 10000; i++ {
			b.Publish(Event{Sidecar: "a", Kind: EventState, Status: Status{Name: "a", Restarts: i}})
			if i == 5000 {
				b.Publish(Event{Sidecar: "a", Kind: EventGaveUp, Reason: "crash loop"})
			}
			b.Publish(Event{Sidecar: "b", Kind: EventMetrics, Status: Status{Name: "b", RSSBytes: uint64(i)}})
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("publish blocked on a subscriber that does not read")
	}
	// Drain until the newest state of both sidecars has arrived. The pump
	// may hold one event it took before the flood, so allow a few extra —
	// but nothing like the 20 000 published.
	var got []Event
	var sawA, sawB bool
	for !(sawA && sawB) {
		select {
		case e := <-ch:
			got = append(got, e)
			sawA = sawA || e.Sidecar == "a" && e.Kind == EventState && e.Status.Restarts == 9999
			sawB = sawB || e.Sidecar == "b" && e.Status.RSSBytes == 9999
		case <-time.After(10 * time.Second):
			t.Fatalf("got only %d events: %+v", len(got), got)
		}
	}
	if len(got) > 6 {
		t.Fatalf("a slow subscriber got a backlog of %d events", len(got))
	}
	var gaveUp bool
	var lastA, lastB Event
	for _, e := range got {
		switch {
		case e.Kind == EventGaveUp:
			gaveUp = true
		case e.Sidecar == "a":
			lastA = e
		case e.Sidecar == "b":
			lastB = e
		}
	}
	if !gaveUp || lastA.Status.Restarts != 9999 || lastB.Status.RSSBytes != 9999 {
		t.Fatalf("got %+v: want the GaveUp event and the latest state of each sidecar", got)
	}
}

func TestBusCloseEndsSubscriptions(t *testing.T) {
	b := newBus()
	ch, _ := b.Subscribe([]Event{{Sidecar: "a"}})
	b.Close()
	for range ch {
	}
}

// A state change followed by a metrics sample of the same sidecar, both
// queued for a subscriber that is busy with an earlier event, reach it as
// one event of kind state with the newest status. Coalesced into a metrics
// event (as before), subscribers that act on EventState only (the control
// API's /v1/events without ?metrics=1, the mode controller, the address
// follower, transition progress, the window's tray and overall status)
// never heard of the change.
func TestBusKeepsAStateChangeAMetricsSampleFollows(t *testing.T) {
	b := newBus()
	defer b.Close()
	ch, cancel := b.Subscribe(nil)
	defer cancel()
	// The subscriber is busy (not reading): the pump holds at most this one.
	b.Publish(Event{Sidecar: "other", Kind: EventState, Status: Status{Name: "other", State: Starting}})
	b.Publish(Event{Sidecar: "b", Kind: EventState, Status: Status{Name: "b", State: Ready}})
	b.Publish(Event{Sidecar: "b", Kind: EventMetrics, Status: Status{Name: "b", State: Ready, RSSBytes: 1}})
	b.Publish(Event{Sidecar: "end", Kind: EventState}) // sentinel
	var got []Event
	for {
		select {
		case e := <-ch:
			if e.Sidecar == "b" {
				got = append(got, e)
			}
			if e.Sidecar != "end" {
				continue
			}
			if len(got) != 1 || got[0].Kind != EventState || got[0].Status.RSSBytes != 1 {
				t.Fatalf("b's events %+v, want one state event with the newest status", got)
			}
			return
		case <-time.After(wait):
			t.Fatal("no sentinel")
		}
	}
}
