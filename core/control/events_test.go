//go:build unix

package control

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"outrigger/core/eventbus"
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
	for i := 1; i < len(got); i++ {
		if got[i].seq < got[i-1].seq {
			t.Errorf("frame %d (seq %d) served after seq %d: ids must rise for Last-Event-ID", i, got[i].seq, got[i-1].seq)
		}
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

// A slow stream's frames go out in id order, so the id of the last frame a
// client received is a true resume point. Served round-robin across
// sidecars (as before), a client got e-4 of one sidecar while e-2 and e-3
// of another were still queued; resuming from e-4 (EventSource sends the
// last id it saw) it never got them.
func TestResumeAfterASlowStreamLosesNoFrame(t *testing.T) {
	h := newTestHub(t)

	frames, unsub := h.subscribe("e-0") // resume from the start: no snapshot
	// The client is slow: these four are published before it reads.
	h.sidecarEvent(supervisor.Event{Sidecar: "a", Kind: supervisor.EventUnhealthy, Status: supervisor.Status{Name: "a"}})                         // e-1
	h.sidecarEvent(supervisor.Event{Sidecar: "a", Kind: supervisor.EventRestarting, Status: supervisor.Status{Name: "a"}})                        // e-2
	h.sidecarEvent(supervisor.Event{Sidecar: "a", Kind: supervisor.EventState, Status: supervisor.Status{Name: "a", State: supervisor.Starting}}) // e-3
	h.sidecarEvent(supervisor.Event{Sidecar: "b", Kind: supervisor.EventState, Status: supervisor.Status{Name: "b", State: supervisor.Ready}})    // e-4

	got := map[uint64]bool{}
	var order []uint64
	var last *frame
	for last == nil || last.seq != 4 {
		select {
		case f := <-frames:
			got[f.seq] = true
			order = append(order, f.seq)
			last = f
		case <-time.After(10 * time.Second):
			t.Fatalf("frames so far %v", order)
		}
	}
	// The connection drops here; the client resumes from the last id it saw.
	unsub()
	h.mu.Lock()
	replay, ok := h.replayLocked("e-" + "4")
	h.mu.Unlock()
	if !ok {
		t.Fatal("e-4 not resumable")
	}
	for _, f := range replay {
		got[f.seq] = true
	}
	for seq := uint64(1); seq <= 4; seq++ {
		if !got[seq] {
			t.Errorf("frame e-%d never reaches the client: delivered %v, then resumed from e-4 (replay %d frames)", seq, order, len(replay))
		}
	}
}

// Every frame of a snapshot describes the state as of one published event,
// so they all carried that event's id: a client whose connection dropped
// after the first of them (EventSource remembers the last id it got)
// resumed "after" the whole snapshot and never heard of the sidecars whose
// frames it had not received, until they next changed. Only the snapshot's
// last frame may carry the id.
func TestResumeMidSnapshotLosesNoSidecar(t *testing.T) {
	h := newTestHub(t)
	for _, n := range []string{"a", "b", "c"} {
		h.sidecarEvent(supervisor.Event{Sidecar: n, Kind: supervisor.EventState, Status: supervisor.Status{Name: n, State: supervisor.Ready}})
	}

	// sseID is what an SSE client keeps as its last event id after a frame.
	sseID := func(last string, f *frame) string {
		for _, line := range strings.Split(string(f.data), "\n") {
			if id, ok := strings.CutPrefix(line, "id: "); ok {
				return id
			}
		}
		return last
	}
	next := func(frames <-chan *frame) *frame {
		select {
		case f := <-frames:
			return f
		case <-time.After(10 * time.Second):
			t.Fatal("no frame")
			return nil
		}
	}

	frames, unsub := h.subscribe("")
	first := next(frames)
	lastID := sseID("", first)
	unsub() // the connection drops after the snapshot's first frame

	got := map[string]bool{first.key: true}
	frames, unsub = h.subscribe(lastID)
	defer unsub()
	deadline := time.After(10 * time.Second) // what a resume has to send is queued at subscribe
	for len(got) < 4 {
		select {
		case f := <-frames:
			got[f.key] = true
		case <-deadline:
			t.Fatalf("resumed from %q after the snapshot's first frame (%s): got only %v of a, b, c and the mode", lastID, first.key, got)
		}
	}
}

// newTestHub is a hub with epoch "e" and the streams' own queue, closed
// when the test ends.
func newTestHub(t *testing.T) *hub {
	h := &hub{
		epoch: "e",
		bus: eventbus.New(func() eventbus.Queue[*frame] {
			return &streamQueue{pending: map[string][]*frame{}}
		}),
		state: map[string]*supervisor.Status{},
	}
	t.Cleanup(h.bus.Close)
	return h
}
