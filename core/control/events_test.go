//go:build unix

package control

import (
	"fmt"
	"syscall"
	"testing"

	"outrigger/core/supervisor"
)

func TestStreamQueueKeepsNewestState(t *testing.T) {
	q := &streamQueue{pending: map[string][]*frame{}}
	seq := uint64(0)
	push := func(key, typ string, coalesce bool) {
		seq++
		q.Push(&frame{seq: seq, key: key, typ: typ, coalesce: coalesce})
	}
	for range 1000 {
		push("a", "state", true)
		push("a", "metrics", true)
		push("a", "restarting", false)
	}
	push("a", "state", true) // the newest state, after a flood of notable frames
	push("b", "state", true)
	var got []*frame
	for {
		f, ok := q.Pop()
		if !ok {
			break
		}
		got = append(got, f)
	}
	if len(got) > maxPendingPerKey+1 {
		t.Fatalf("%d frames pending after a flood, want at most %d", len(got), maxPendingPerKey+1)
	}
	var lastA *frame
	states := 0
	for _, f := range got {
		if f.key == "a" {
			lastA = f
			if f.typ == "state" {
				states++
			}
		}
	}
	if lastA == nil || lastA.seq != seq-1 || lastA.typ != "state" || states != 1 {
		t.Fatalf("a's last frame %+v (%d state frames), want the newest state once", lastA, states)
	}
	if got[1].key != "b" {
		t.Errorf("keys are not served round-robin: %v then %v", got[0].key, got[1].key)
	}
}

// A reconnecting client with Last-Event-ID gets what it missed (state
// coalesced to the newest, notable events all); one with an id from another
// instance, a garbled one or none gets the current state instead.
func TestEventsResume(t *testing.T) {
	alpha := fixtureSpec(t, "alpha")
	alpha.Restart.Policy = "always"
	r := newRig(t, rigOpts{start: true}, alpha)
	// The snapshot is the hub's state, which follows the supervisor's
	// events: on a busy machine alpha may still be Starting in it (its
	// Ready comes after the snapshot's mode frame), so both are awaited
	// in one pass over the stream, in whichever order they come.
	first := r.subscribe("/v1/events")
	var snap Event
	sawMode := false
	first.await(t, "alpha Ready and the mode", func(e Event) bool {
		if e.Type == "modeChanged" && e.Mode != nil {
			sawMode = true
		}
		if isState("alpha", supervisor.Ready)(e) {
			snap = e
		}
		return sawMode && snap.Status != nil
	})
	first.close()

	watch := r.subscribe("/v1/events")
	if err := syscall.Kill(snap.Status.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	watch.await(t, "alpha recovered", func(e Event) bool { return e.Type == "recovered" })

	resumed := r.subscribe("/v1/events", "Last-Event-ID", snap.ID)
	e := resumed.await(t, "the missed restarting event", func(e Event) bool {
		if e.Type == "modeChanged" {
			t.Fatalf("resume from %s got a snapshot (modeChanged), not the missed events", snap.ID)
		}
		return e.Type == "restarting"
	})
	if e.Sidecar != "alpha" || e.ID == snap.ID {
		t.Fatalf("restarting event %+v", e)
	}
	resumed.await(t, "alpha ready again", isState("alpha", supervisor.Ready))

	for _, id := range []string{"someoneelse-3", "garbage", fmt.Sprint(snap.ID, "9999"), ""} {
		fresh := r.subscribe("/v1/events", "Last-Event-ID", id)
		e := fresh.await(t, "a snapshot", func(Event) bool { return true })
		if e.Type != "state" || e.Status.State != supervisor.Ready || e.Status.PID == snap.Status.PID {
			t.Errorf("Last-Event-ID %q: first event %s %+v, want the current state", id, e.Type, e.Status)
		}
		fresh.await(t, "the mode in the snapshot", func(e Event) bool {
			if e.Type == "restarting" {
				t.Errorf("Last-Event-ID %q: a snapshot replayed history", id)
			}
			return e.Type == "modeChanged"
		})
		fresh.close()
	}
}
