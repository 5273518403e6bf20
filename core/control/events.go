package control

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"outrigger/core/eventbus"
	"outrigger/core/modes"
	"outrigger/core/supervisor"
)

// Event is one item of GET /v1/events: a sidecar's change (Sidecar and
// Status set) or a mode change (Mode set). Type is the supervisor's or the
// mode controller's event kind: state, metrics, restarting, gaveUp,
// unhealthy, recovered; modeChanged, transitioning, progress,
// transitionFailed, degraded, restored, fellBack, reachable, unreachable,
// persistFailed.
type Event struct {
	ID      string             `json:"id"`
	Type    string             `json:"type"`
	Time    time.Time          `json:"time"`
	Sidecar string             `json:"sidecar,omitempty"`
	Status  *supervisor.Status `json:"status,omitempty"`
	Attempt int                `json:"attempt,omitempty"`
	DelayMs int64              `json:"delayMs,omitempty"`
	Reason  string             `json:"reason,omitempty"`
	Mode    *modes.Mode        `json:"mode,omitempty"`
	Target  *modes.Mode        `json:"target,omitempty"`
	Message string             `json:"message,omitempty"`
	Error   string             `json:"error,omitempty"`
}

// historySize is how many events a reconnecting client can catch up on
// with Last-Event-ID; one further behind gets the current state instead.
const historySize = 1024

// maxPendingPerKey bounds one stream's backlog per sidecar (and for the
// mode): a client that does not read gets the newest state, not a queue.
const maxPendingPerKey = 32

// frame is an event as sent: encoded once, written to every stream.
type frame struct {
	seq      uint64
	key      string // sidecar name, or "" for the mode
	typ      string
	coalesce bool   // only the newest of its key and type matters
	data     []byte // "id: ...\nevent: ...\ndata: ...\n\n"
}

// hub turns the supervisor's and the mode controller's events into
// numbered frames, keeps the recent ones for resuming, and fans them out
// through an eventbus whose queues keep a slow stream's backlog bounded.
// Its goroutine is the only publisher; it never waits for a stream.
type hub struct {
	epoch string
	bus   *eventbus.Bus[*frame]
	done  chan struct{}
	end   chan struct{}

	mu      sync.Mutex
	seq     uint64
	history []*frame                      // the last historySize frames, oldest first
	state   map[string]*supervisor.Status // newest status per sidecar
	order   []string                      // sidecars, in the order first seen
	mode    modes.Mode
}

func newHub(sup *supervisor.Supervisor, mc *modes.Controller) *hub {
	h := &hub{
		// Ids restart with each instance; the epoch tells a client that
		// resumes against a new instance that its id means nothing here.
		epoch: strconv.FormatInt(time.Now().UnixNano(), 36),
		bus:   eventbus.New(func() eventbus.Queue[*frame] { return &streamQueue{pending: map[string][]*frame{}} }),
		done:  make(chan struct{}),
		end:   make(chan struct{}),
		state: map[string]*supervisor.Status{},
		mode:  mc.Current(),
	}
	for _, st := range sup.Snapshot() {
		st := st
		h.state[st.Name] = &st
		h.order = append(h.order, st.Name)
	}
	supEv, supUnsub := sup.Subscribe()
	modeEv, modeUnsub := mc.Subscribe()
	go func() {
		defer close(h.done)
		defer supUnsub()
		defer modeUnsub()
		for supEv != nil || modeEv != nil {
			select {
			case e, ok := <-supEv:
				if !ok {
					supEv = nil
					continue
				}
				h.sidecarEvent(e)
			case e, ok := <-modeEv:
				if !ok {
					modeEv = nil
					continue
				}
				h.modeEvent(e)
			case <-h.end:
				return
			}
		}
		<-h.end
	}()
	return h
}

func (h *hub) close() {
	close(h.end)
	<-h.done
	h.bus.Close()
}

func (h *hub) sidecarEvent(e supervisor.Event) {
	st := e.Status
	ev := Event{Type: string(e.Kind), Time: e.Time, Sidecar: e.Sidecar, Status: &st,
		Attempt: e.Attempt, DelayMs: e.Delay.Milliseconds(), Reason: e.Reason}
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, known := h.state[e.Sidecar]; !known {
		h.order = append(h.order, e.Sidecar)
	}
	h.state[e.Sidecar] = &st
	coalesce := e.Kind == supervisor.EventState || e.Kind == supervisor.EventMetrics
	h.publishLocked(e.Sidecar, coalesce, ev)
}

func (h *hub) modeEvent(e modes.Event) {
	m := e.Mode
	ev := Event{Type: string(e.Kind), Time: e.Time, Mode: &m, Target: e.Target, Message: e.Message}
	if e.Err != nil {
		ev.Error = e.Err.Error()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.mode = m
	coalesce := e.Kind == modes.Progress || e.Kind == modes.Reachable || e.Kind == modes.Unreachable
	h.publishLocked("", coalesce, ev)
}

// publishLocked numbers, encodes, records and fans out one event.
func (h *hub) publishLocked(key string, coalesce bool, ev Event) {
	h.seq++
	f := h.frameLocked(h.seq, key, coalesce, ev)
	if len(h.history) == historySize {
		copy(h.history, h.history[1:])
		h.history[len(h.history)-1] = f
	} else {
		h.history = append(h.history, f)
	}
	h.bus.Publish(f)
}

func (h *hub) frameLocked(seq uint64, key string, coalesce bool, ev Event) *frame {
	ev.ID = h.epoch + "-" + strconv.FormatUint(seq, 10)
	data, err := json.Marshal(ev)
	if err != nil {
		data = []byte(fmt.Sprintf(`{"id":%q,"type":"error","error":%q}`, ev.ID, err.Error()))
	}
	var b bytes.Buffer
	b.Grow(len(data) + 64)
	b.WriteString("id: " + ev.ID + "\nevent: " + ev.Type + "\ndata: ")
	b.Write(data)
	b.WriteString("\n\n")
	return &frame{seq: seq, key: key, typ: ev.Type, coalesce: coalesce, data: b.Bytes()}
}

// subscribe starts a stream. lastID is the client's Last-Event-ID: when
// it names an event still in the history, the stream replays what came
// after it (through the stream's queue, so states coalesce to the newest
// and every notable event is kept); otherwise (no id, another instance's id, too old) it starts
// with the current state of every sidecar and the mode. Taking the lock
// publishing holds makes the start and the live events meet exactly.
func (h *hub) subscribe(lastID string) (<-chan *frame, func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var initial []*frame
	if replay, ok := h.replayLocked(lastID); ok {
		initial = replay
	} else {
		now := time.Now()
		for _, name := range h.order {
			initial = append(initial, h.frameLocked(h.seq, name, true,
				Event{Type: string(supervisor.EventState), Time: now, Sidecar: name, Status: h.state[name]}))
		}
		m := h.mode
		initial = append(initial, h.frameLocked(h.seq, "", false,
			Event{Type: string(modes.ModeChanged), Time: now, Mode: &m, Message: m.String()}))
		// Every frame of the snapshot is as of event h.seq, but only its
		// last one (the mode) completes it: a client that resumed from the
		// id of an earlier one would miss the sidecars after it. Without an
		// id line an SSE client keeps the id it had (none, or one this hub
		// answers with a snapshot again).
		for _, f := range initial[:len(initial)-1] {
			f.data = f.data[bytes.IndexByte(f.data, '\n')+1:]
		}
	}
	return h.bus.Subscribe(initial)
}

func (h *hub) replayLocked(lastID string) ([]*frame, bool) {
	epoch, num, ok := strings.Cut(strings.TrimSpace(lastID), "-")
	if !ok || epoch != h.epoch {
		return nil, false
	}
	seq, err := strconv.ParseUint(num, 10, 64)
	if err != nil || seq > h.seq {
		return nil, false
	}
	if seq == h.seq {
		return nil, true
	}
	if len(h.history) == 0 || h.history[0].seq > seq+1 {
		return nil, false // fell out of the history
	}
	i := int(seq + 1 - h.history[0].seq)
	return append([]*frame(nil), h.history[i:]...), true
}

// streamQueue is one stream's backlog. Per key (sidecar, or the mode) only
// the newest coalescable frame of each type is kept — a newer state
// replaces an older state, and also an older metrics frame it supersedes —
// while notable frames (restarting, gaveUp, modeChanged, ...) are kept,
// the oldest dropped past maxPendingPerKey. The newest state is never
// dropped. So a stream that stops reading costs a few frames per sidecar,
// never a backlog.
type streamQueue struct {
	pending map[string][]*frame
	order   []string // keys with pending frames, oldest first
}

func (q *streamQueue) Push(f *frame) {
	p := q.pending[f.key]
	if len(p) == 0 {
		q.order = append(q.order, f.key)
	}
	if f.coalesce {
		kept := p[:0]
		for _, old := range p {
			superseded := old.coalesce && (old.typ == f.typ ||
				(f.typ == string(supervisor.EventState) && old.typ == string(supervisor.EventMetrics)))
			if !superseded {
				kept = append(kept, old)
			}
		}
		for i := len(kept); i < len(p); i++ {
			p[i] = nil
		}
		p = kept
	}
	p = append(p, f)
	if len(p) > maxPendingPerKey {
		// Coalescable frames are at most one per type, each the newest
		// state: the oldest notable frame goes instead.
		for i, old := range p {
			if !old.coalesce {
				p = append(p[:i], p[i+1:]...)
				break
			}
		}
	}
	q.pending[f.key] = p
}

// Pop takes the lowest-numbered frame pending: frames go out in the order
// they were numbered, so the id of the last frame a client received is a
// true resume point (Last-Event-ID): nothing older is still queued. Served
// round-robin across keys (as before), a client could get e-4 of one
// sidecar before e-3 of another and, resuming from e-4 after a drop, never
// get e-3. Keys tie only in a snapshot (all its frames carry the hub's
// current seq); they go in queue order there. Fairness between sidecars
// costs nothing here: each key's backlog is a few coalesced frames.
func (q *streamQueue) Pop() (*frame, bool) {
	best := -1
	for i, key := range q.order {
		p := q.pending[key]
		if len(p) == 0 {
			continue
		}
		if best < 0 || p[0].seq < q.pending[q.order[best]][0].seq {
			best = i
		}
	}
	if best < 0 {
		q.order, q.pending = q.order[:0], map[string][]*frame{}
		return nil, false
	}
	key := q.order[best]
	p := q.pending[key]
	f := p[0]
	p[0] = nil
	if len(p) == 1 {
		delete(q.pending, key)
		q.order = append(q.order[:best], q.order[best+1:]...)
	} else {
		q.pending[key] = p[1:]
	}
	return f, true
}

// events is GET /v1/events. ?metrics=1 adds the CPU/memory updates (about
// one a second per running sidecar); without it they are left out.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	metrics := r.URL.Query().Get("metrics") == "1"
	if metrics {
		defer s.look.stream()()
	}
	lastID := r.Header.Get("Last-Event-ID")
	if lastID == "" {
		lastID = r.URL.Query().Get("lastEventId") // EventSource cannot set headers on its first request
	}
	frames, unsub := s.hub.subscribe(lastID)
	defer unsub()
	st := newStream(w, "text/event-stream", s.stall)
	if err := st.write([]byte("retry: 2000\n\n")); err != nil {
		return
	}
	beat := time.NewTicker(heartbeat)
	defer beat.Stop()
	for {
		select {
		case f, ok := <-frames:
			if !ok {
				return
			}
			if f.typ == string(supervisor.EventMetrics) && !metrics {
				continue
			}
			if err := st.write(f.data); err != nil {
				return
			}
		case <-beat.C:
			if err := st.write([]byte(": ping\n\n")); err != nil {
				return
			}
		case <-r.Context().Done():
			return
		}
	}
}

// stream writes a long response, flushing each write, and drops a client
// whose write stays blocked for stall (writeStall).
type stream struct {
	w     http.ResponseWriter
	rc    *http.ResponseController
	stall time.Duration
}

func newStream(w http.ResponseWriter, contentType string, stall time.Duration) *stream {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	return &stream{w: w, rc: http.NewResponseController(w), stall: stall}
}

func (s *stream) write(b []byte) error {
	_ = s.rc.SetWriteDeadline(time.Now().Add(s.stall)) // per write: a stream is long, each write is not
	_, err := s.w.Write(b)
	if err == nil {
		err = s.rc.Flush()
	}
	if err != nil {
		// A stalled or gone client: end the connection itself, not just
		// the response, so it is not kept for a next request.
		panic(http.ErrAbortHandler)
	}
	return nil
}
