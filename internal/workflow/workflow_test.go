package workflow

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"outrigger/internal/testutil"
)

// gatedWorkflow has n nodes step-1 … step-n, each appending |i to the text
// like pipeline; step-1 returns at once, every later node waits until
// release is closed (or its execution is cancelled). Tests control how long
// an execution runs with it instead of guessing with delays.
func gatedWorkflow(id string, n int, release <-chan struct{}) Workflow {
	return Workflow{
		Info: WorkflowInfo{ID: id, Nodes: []NodeInfo{{ID: "step-i"}}, InputSchema: raw(`{}`), ExampleInput: raw(`{}`)},
		Plan: func(json.RawMessage) ([]Node, error) {
			nodes := make([]Node, n)
			for i := range nodes {
				nodes[i] = Node{ID: fmt.Sprintf("step-%d", i+1), Run: func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
					if i > 0 {
						select {
						case <-release:
						case <-ctx.Done():
							return nil, context.Cause(ctx)
						}
					}
					var s stepIO
					if err := json.Unmarshal(in, &s); err != nil {
						return nil, err
					}
					return mustJSON(stepIO{Text: fmt.Sprintf("%s|%d", s.Text, i+1), Step: i + 1, Of: n}), nil
				}}
			}
			return nodes, nil
		},
	}
}

// A client that disconnects after the first chunk does not stop the
// execution: it completes and every node's output is stored. The later
// nodes wait on a gate that opens only after the test has seen the run
// still going after the disconnect.
func TestDisconnectAfterFirstChunkCompletes(t *testing.T) {
	release := make(chan struct{})
	ts := startService(t, func(o *Options) { o.Workflows = append(Builtin("", nil), gatedWorkflow("gated", 4, release)) })
	ctx, disconnect := context.WithCancel(context.Background())
	defer disconnect()
	var chunks int
	err := ts.Client.Stream(ctx, "gated", raw(`{"text":"x"}`), "disc-1", func(ev StreamEvent) {
		if ev.Type == EventData {
			chunks++
			disconnect() // leave after the first chunk
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Stream after disconnect: %v, want context.Canceled", err)
	}
	if chunks != 1 {
		t.Fatalf("got %d chunks before disconnecting, want 1", chunks)
	}
	// The server notices the client left while the execution still runs.
	testutil.Eventually(t, 10*time.Second, func() bool {
		return contains(ts.Logs.String(), "stream client went away")
	}, "the server to notice the disconnect")
	if st := ts.Manager().Status(); st.Running != 1 {
		t.Fatalf("running = %d after the disconnect, want 1 (still executing)", st.Running)
	}
	close(release)

	res := waitResult(t, ts.Client, "disc-1")
	if res.Status != StatusCompleted {
		t.Fatalf("status %q (error %q), want completed", res.Status, res.Error)
	}
	if len(res.Nodes) != 4 {
		t.Fatalf("%d nodes stored, want 4", len(res.Nodes))
	}
	want := "x"
	for i, n := range res.Nodes {
		want += fmt.Sprintf("|%d", i+1)
		var out stepIO
		if err := json.Unmarshal(n.Output, &out); err != nil {
			t.Fatalf("node %d output %s: %v", i, n.Output, err)
		}
		if n.Status != StatusCompleted || out.Text != want || n.NodeID != fmt.Sprintf("step-%d", i+1) {
			t.Fatalf("node %d = %+v (output %s), want completed with text %q", i, n, n.Output, want)
		}
		if n.Input == nil || n.StartedAt == nil || n.FinishedAt == nil {
			t.Fatalf("node %d lacks input or timings: %+v", i, n)
		}
	}
	if res.StartedAt == nil || res.FinishedAt == nil {
		t.Fatalf("execution timings %v %v", res.StartedAt, res.FinishedAt)
	}
}

// Store first, stream second, checked per event and deterministically:
// just before each event goes out (beforePublish, in the executor's
// goroutine), a second connection (as another process would) must already
// find in the database what the event reports. With stream and store
// swapped in Manager.run, the first chunk fails this every time. The
// client-side check over HTTP is kept as well.
func TestStoredBeforeStreamed(t *testing.T) {
	var db *sql.DB
	var mu sync.Mutex
	var failures []string
	var checked atomic.Int32
	fail := func(format string, a ...any) {
		mu.Lock()
		failures = append(failures, fmt.Sprintf(format, a...))
		mu.Unlock()
	}
	check := func(name string, data []byte) {
		var ev StreamEvent
		switch name {
		case "":
			var n NodeOutput
			json.Unmarshal(data, &n)
			ev.Node = &n
		case EventLog:
			var l LogEvent
			json.Unmarshal(data, &l)
			ev.Log = &l
		case EventEnd:
			var e EndEvent
			json.Unmarshal(data, &e)
			ev.End = &e
		}
		switch {
		case ev.Node != nil:
			var status, output string
			err := db.QueryRow(`SELECT io.status, io.output FROM execution_io io JOIN execution_meta m ON m.id = io.execution_id
				WHERE m.interaction_id = ? AND io.idx = ?`, "sbs-1", ev.Node.Index).Scan(&status, &output)
			if err != nil {
				fail("chunk %d: not in the database: %v", ev.Node.Index, err)
				return
			}
			if status != StatusCompleted || output != string(ev.Node.Output) {
				fail("chunk %d: db has %s %s, chunk has %s", ev.Node.Index, status, output, ev.Node.Output)
			}
			checked.Add(1)
		case ev.Log != nil && ev.Log.Status == "node_started":
			var input string
			if err := db.QueryRow(`SELECT io.input FROM execution_io io JOIN execution_meta m ON m.id = io.execution_id
				WHERE m.interaction_id = ? AND io.idx = ?`, "sbs-1", ev.Log.Index).Scan(&input); err != nil || input == "" {
				fail("node_started %d: input not stored (%v)", ev.Log.Index, err)
			}
		case ev.End != nil:
			var status string
			var finished *int64
			if err := db.QueryRow(`SELECT status, finished_at FROM execution_meta WHERE interaction_id = ?`, "sbs-1").
				Scan(&status, &finished); err != nil || status != ev.End.Status || finished == nil {
				fail("end %s: db has %q finished=%v (%v)", ev.End.Status, status, finished, err)
			}
		}
	}
	var atPublish atomic.Int32
	ts := startService(t, func(o *Options) {
		o.beforePublish = func(_ *Execution, name string, data []byte) { atPublish.Add(1); check(name, data) }
	})
	db = openDB(t, ts.Dir)
	err := ts.Client.Stream(ctxT(t, 30*time.Second), "pipeline", raw(`{"text":"s","delay_ms":0,"nodes":5}`), "sbs-1", func(ev StreamEvent) {
		name := ev.Type
		if name == EventData {
			name = "" // sent as a plain data: chunk
		}
		check(name, ev.Raw)
	})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(failures) > 0 {
		t.Fatal(strings.Join(failures, "\n"))
	}
	if checked.Load() != 10 || atPublish.Load() == 0 {
		t.Fatalf("checked %d chunks (%d events at publish), want each of 5 chunks twice", checked.Load(), atPublish.Load())
	}
}

// A store failure is never streamed as if it were stored: when the record
// of a failed node, or the final status, cannot be written, the execution
// ends as store_failed (what the stream and, if the store recovers,
// /results say), and the event that was not stored never goes out.
func TestStoreFailureEndsAsStoreFailed(t *testing.T) {
	errDisk := errors.New("disk I/O error (injected)")
	var failNode, failEnd, failAllEnds atomic.Bool
	boom := Workflow{
		Info: WorkflowInfo{ID: "boom", Nodes: []NodeInfo{{ID: "boom"}}, InputSchema: raw(`{}`), ExampleInput: raw(`{}`)},
		Plan: func(json.RawMessage) ([]Node, error) {
			return []Node{{ID: "boom", Run: func(context.Context, json.RawMessage) (json.RawMessage, error) {
				return nil, errors.New("the node failed")
			}}}, nil
		},
	}
	ts := startService(t, func(o *Options) {
		o.Workflows = append(Builtin("", nil), boom)
		o.failWrite = func(query string, args []any) error {
			switch {
			case failNode.Load() && strings.HasPrefix(query, "UPDATE execution_io SET status") && args[0] == StatusFailed:
				return errDisk
			case strings.HasPrefix(query, "UPDATE execution_meta SET status = ?, output") &&
				(failAllEnds.Load() || (failEnd.Load() && args[0] == StatusCompleted)):
				return errDisk
			}
			return nil
		}
	})
	run := func(wf, id string) (events []string, end *EndEvent) {
		t.Helper()
		err := ts.Client.Stream(ctxT(t, 20*time.Second), wf, raw(`{"text":"a"}`), id, func(ev StreamEvent) {
			s := ev.Type
			if ev.Log != nil {
				s += ":" + ev.Log.Status
			}
			events = append(events, s)
			if ev.End != nil {
				end = ev.End
			}
		})
		if err != nil || end == nil {
			t.Fatalf("%s: %v (end %+v)", id, err, end)
		}
		return events, end
	}

	failNode.Store(true)
	events, end := run("boom", "sf-node")
	if end.Status != StatusStoreFailed || !contains(end.Error, "injected") || slices.Contains(events, "log:node_failed") {
		t.Fatalf("failed node not stored: end %+v, events %v; want store_failed and no node_failed event", end, events)
	}
	if r := waitResult(t, ts.Client, "sf-node"); r.Status != StatusStoreFailed {
		t.Fatalf("/results: %s, want store_failed", r.Status)
	}
	failNode.Store(false)

	failEnd.Store(true)
	_, end = run("echo", "sf-end")
	if end.Status != StatusStoreFailed || end.Output != nil {
		t.Fatalf("end not stored: %+v, want store_failed without output", end)
	}
	if r := waitResult(t, ts.Client, "sf-end"); r.Status != StatusStoreFailed || r.Output != nil {
		t.Fatalf("/results: %s %s, want store_failed", r.Status, r.Output)
	}
	failEnd.Store(false)

	failAllEnds.Store(true)
	_, end = run("echo", "sf-all")
	if end.Status != StatusStoreFailed {
		t.Fatalf("no end stored at all: %+v, want store_failed", end)
	}
	if r, err := ts.Client.Result(context.Background(), "sf-all"); err != nil || r.Status != StatusRunning {
		t.Fatalf("/results %v %s: the database still says running (marked interrupted at the next start)", err, r.Status)
	}
	failAllEnds.Store(false)
}

// 20 concurrent requests with a cap of 4: never more than 4 run at once,
// the rest wait in the queue, and all complete.
func TestConcurrencyCap(t *testing.T) {
	var cur, peak atomic.Int64
	ts := startService(t, func(o *Options) {
		o.MaxWorkers = 4
		o.Workflows = append(Builtin("", nil), probeWorkflow(&cur, &peak, 100*time.Millisecond))
	})
	var sawQueued atomic.Bool
	stop := make(chan struct{})
	var polls sync.WaitGroup
	polls.Add(1)
	var statusErr atomic.Value
	go func() { // watch /executions/status while they run
		defer polls.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			s, err := ts.Client.Status(context.Background())
			if err != nil {
				continue
			}
			if s.Running > 4 {
				statusErr.Store(fmt.Sprintf("status reported running=%d", s.Running))
			}
			if s.Queued > 0 {
				sawQueued.Store(true)
			}
		}
	}()

	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var end *EndEvent
			err := ts.Client.Stream(context.Background(), "probe", nil, fmt.Sprintf("cap-%d", i), func(ev StreamEvent) {
				if ev.End != nil {
					end = ev.End
				}
			})
			if err == nil && end.Status != StatusCompleted {
				err = fmt.Errorf("cap-%d ended %s: %s", i, end.Status, end.Error)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(stop)
	polls.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if v := statusErr.Load(); v != nil {
		t.Error(v)
	}
	t.Logf("peak concurrent nodes %d, manager peak %d, saw queued %v", peak.Load(), ts.Manager().Peak(), sawQueued.Load())
	if peak.Load() > 4 || ts.Manager().Peak() > 4 {
		t.Fatalf("peak %d (manager %d) running at once, cap is 4", peak.Load(), ts.Manager().Peak())
	}
	if peak.Load() < 2 {
		t.Fatalf("peak %d: the requests did not overlap at all", peak.Load())
	}
	if !sawQueued.Load() {
		t.Error("status never showed a queued execution")
	}
	for i := range n {
		if r, err := ts.Client.Result(context.Background(), fmt.Sprintf("cap-%d", i)); err != nil || r.Status != StatusCompleted {
			t.Errorf("cap-%d: %v %+v", i, err, r.Status)
		}
	}
}

// POST /executions/{id}/cancel stops a running execution and one still in
// the queue; both are stored as cancelled.
func TestCancel(t *testing.T) {
	ts := startService(t, func(o *Options) { o.MaxWorkers = 1 })
	c := ts.Client
	ctx := ctxT(t, 30*time.Second)

	firstChunk := make(chan struct{})
	streamDone := make(chan error, 1)
	var end atomic.Pointer[EndEvent]
	go func() {
		var once sync.Once
		streamDone <- c.Stream(ctx, "pipeline", raw(`{"delay_ms":200,"nodes":50}`), "cancel-run", func(ev StreamEvent) {
			if ev.Log != nil && ev.Log.Status == "node_started" && ev.Log.Index == 1 { // step-1 done, step-2 running
				once.Do(func() { close(firstChunk) })
			}
			if ev.End != nil {
				end.Store(ev.End)
			}
		})
	}()
	select {
	case <-firstChunk:
	case <-ctx.Done():
		t.Fatal("no first chunk")
	}
	// A second one waits in the queue behind it.
	queuedDone := make(chan error, 1)
	go func() {
		queuedDone <- c.Stream(ctx, "pipeline", raw(`{"delay_ms":1,"nodes":1}`), "cancel-queued", nil)
	}()
	waitStatus(t, c, func(s ExecStatus) bool { return s.Running == 1 && s.Queued == 1 }, "one running, one queued")

	if err := c.Cancel(ctx, "cancel-queued"); err != nil {
		t.Fatalf("cancel queued: %v", err)
	}
	if err := <-queuedDone; err != nil {
		t.Fatalf("queued stream: %v", err)
	}
	if err := c.Cancel(ctx, "cancel-run"); err != nil {
		t.Fatalf("cancel running: %v", err)
	}
	if err := <-streamDone; err != nil {
		t.Fatalf("running stream: %v", err)
	}
	if e := end.Load(); e == nil || e.Status != StatusCancelled {
		t.Fatalf("end event %+v, want cancelled", e)
	}

	res := waitResult(t, c, "cancel-run")
	if res.Status != StatusCancelled || len(res.Nodes) < 2 || len(res.Nodes) == 50 {
		t.Fatalf("running: status %s with %d nodes, want cancelled part way", res.Status, len(res.Nodes))
	}
	if last := res.Nodes[len(res.Nodes)-1]; last.Status != StatusCancelled {
		t.Fatalf("last node %+v, want cancelled", last)
	}
	if res.Nodes[0].Status != StatusCompleted {
		t.Fatalf("first node %+v, want completed", res.Nodes[0])
	}
	q := waitResult(t, c, "cancel-queued")
	if q.Status != StatusCancelled || len(q.Nodes) != 0 || q.StartedAt != nil {
		t.Fatalf("queued: %+v, want cancelled before starting", q)
	}

	// Cancelling again: 409 with the status; unknown: 404.
	err := c.Cancel(ctx, "cancel-run")
	var he *HTTPError
	if !errors.Is(err, ErrFinished) || !errors.As(err, &he) || he.Status != StatusCancelled {
		t.Fatalf("second cancel: %v, want 409 already finished", err)
	}
	if err := c.Cancel(ctx, "no-such-id"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("cancel unknown: %v, want 404", err)
	}
	waitStatus(t, c, func(s ExecStatus) bool { return s.Running == 0 && s.Queued == 0 }, "idle")
}

// Past the bounded queue the reply is 429 with Retry-After.
func TestQueueFull429(t *testing.T) {
	ts := startService(t, func(o *Options) { o.MaxWorkers = 1; o.MaxQueued = 1 })
	c := ts.Client
	// Occupy the worker and the single queue slot: each stream is left after
	// its first event, and its execution goes on.
	for _, id := range []string{"q-1", "q-2"} {
		leave(t, c, "pipeline", raw(`{"delay_ms":60000,"nodes":1}`), id)
	}
	waitStatus(t, c, func(s ExecStatus) bool { return s.Running == 1 && s.Queued == 1 }, "one running, one queued")

	resp, body := postJSON(t, ts.URL+"/workflow/stream", map[string]any{"workflow_id": "echo", "input": map[string]any{"text": "x"}})
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("third: %s Retry-After=%q %s, want 429 with Retry-After", resp.Status, resp.Header.Get("Retry-After"), body)
	}
	err := c.Stream(ctxT(t, 10*time.Second), "echo", raw(`{"text":"x"}`), "q-3", nil)
	var he *HTTPError
	if !errors.Is(err, ErrQueueFull) || !errors.As(err, &he) || he.RetryAfter <= 0 {
		t.Fatalf("client: %v, want ErrQueueFull with RetryAfter", err)
	}
	if _, err := c.Result(context.Background(), "q-3"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a refused run must not be stored: %v", err)
	}
	for _, id := range []string{"q-2", "q-1"} {
		if err := c.Cancel(context.Background(), id); err != nil {
			t.Fatal(err)
		}
	}
	testutil.Eventually(t, 10*time.Second, func() bool {
		return ts.Manager().Lookup("q-1") == nil && ts.Manager().Lookup("q-2") == nil
	}, "both cancelled executions to end")
	// A slot is free again.
	if r, err := c.Deploy(ctxT(t, 10*time.Second), RunRequest{WorkflowID: "echo", Input: raw(`{"text":"ok"}`)}); err != nil || r.Status != StatusCompleted {
		t.Fatalf("after the queue drained: %v %+v", err, r)
	}
}

// leave starts an execution and disconnects after its first event.
func leave(t testing.TB, c *Client, wf string, input json.RawMessage, id string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err := c.Stream(ctx, wf, input, id, func(StreamEvent) { cancel() })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("start %s: %v", id, err)
	}
}

// A cancel that arrives while a completed execution's end is being stored
// is answered 409 with the status it ended with, not 202 "cancelling" of a
// run that then ends completed; when no record of the end can be stored,
// with store_failed, not the "running" the store was left with.
func TestCancelWhileTheEndIsStored(t *testing.T) {
	errDisk := errors.New("disk I/O error (injected)")
	for _, c := range []struct {
		name    string
		failEnd bool
		want    string
	}{{"stored", false, StatusCompleted}, {"not stored", true, StatusStoreFailed}} {
		t.Run(c.name, func(t *testing.T) {
			storing := make(chan struct{})
			release := make(chan struct{})
			var once sync.Once
			ts := startService(t, func(o *Options) {
				o.failWrite = func(query string, args []any) error {
					if !strings.HasPrefix(query, "UPDATE execution_meta SET status = ?, output") {
						return nil
					}
					if args[0] == StatusCompleted {
						once.Do(func() { close(storing) })
						<-release
					}
					if c.failEnd {
						return errDisk
					}
					return nil
				}
			})
			cl := ts.Client
			ctx := ctxT(t, 30*time.Second)
			ran := make(chan error, 1)
			go func() { ran <- cl.Stream(ctx, "echo", raw(`{"text":"a"}`), "end-race", nil) }()
			select {
			case <-storing:
			case <-ctx.Done():
				t.Fatal("the end was never stored")
			}
			cancelled := make(chan error, 1)
			go func() { cancelled <- cl.Cancel(ctx, "end-race") }()
			// The cancel must not be answered before the end is stored:
			// give it the chance to answer wrongly, then let the store go on.
			select {
			case err := <-cancelled:
				close(release)
				t.Fatalf("cancel answered while the end was being stored: %v", err)
			case <-time.After(200 * time.Millisecond):
			}
			close(release)
			err := <-cancelled
			var he *HTTPError
			if !errors.Is(err, ErrFinished) || !errors.As(err, &he) || he.Status != c.want {
				t.Fatalf("cancel during the end: %v, want 409 already finished (%s)", err, c.want)
			}
			if err := <-ran; err != nil {
				t.Fatal(err)
			}
			if !c.failEnd {
				if r := waitResult(t, cl, "end-race"); r.Status != StatusCompleted {
					t.Fatalf("/results: %s, want completed", r.Status)
				}
			}
		})
	}
}

// When no record of the end can be stored at all, the JSON reply of
// /deploy/stream says how the execution ended (store_failed, as its stream
// would), not the "running" the store was left with: the reply comes after
// the end, and a caller must not poll a run that is over.
func TestDeployReplyWhenNoEndIsStored(t *testing.T) {
	ts := startService(t, func(o *Options) {
		o.failWrite = func(query string, args []any) error {
			if strings.HasPrefix(query, "UPDATE execution_meta SET status = ?, output") {
				return errors.New("disk I/O error (injected)")
			}
			return nil
		}
	})
	r, err := ts.Client.Deploy(ctxT(t, wait), RunRequest{WorkflowID: "echo", Input: raw(`{"text":"a"}`), InteractionID: "nostore"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != StatusStoreFailed || !contains(r.Error, "injected") || r.Output != nil {
		t.Fatalf("deploy reply: status %q error %q output %s, want store_failed with the store's error", r.Status, r.Error, r.Output)
	}
	if len(r.Nodes) != 1 || r.Nodes[0].Status != StatusCompleted {
		t.Fatalf("deploy reply nodes %+v, want the stored node", r.Nodes)
	}
}

// A cancel that arrives while the submit is still storing the execution
// waits for the submit's outcome: when the insert fails the run never
// existed, and the answer is 404 (it was 202 "cancelling"); when it
// succeeds, the answer is 202 and the run ends cancelled.
func TestCancelWhileTheSubmitIsStored(t *testing.T) {
	errDisk := errors.New("disk I/O error (injected)")
	for _, c := range []struct {
		name       string
		failInsert bool
	}{{"insert fails", true}, {"insert stored", false}} {
		t.Run(c.name, func(t *testing.T) {
			storing := make(chan struct{})
			release := make(chan struct{})
			var once sync.Once
			ts := startService(t, func(o *Options) {
				o.Workflows = append(Builtin("", nil), gatedWorkflow("gated", 2, nil))
				o.failWrite = func(query string, args []any) error {
					if !strings.HasPrefix(query, "INSERT INTO execution_meta") || args[0] != "submit-race" {
						return nil
					}
					once.Do(func() { close(storing) })
					<-release
					if c.failInsert {
						return errDisk
					}
					return nil
				}
			})
			cl := ts.Client
			ctx := ctxT(t, wait)
			ran := make(chan error, 1)
			go func() { ran <- cl.Stream(ctx, "gated", raw(`{"text":"a"}`), "submit-race", nil) }()
			select {
			case <-storing:
			case <-ctx.Done():
				t.Fatal("the execution was never stored")
			}
			cancelled := make(chan error, 1)
			go func() { cancelled <- cl.Cancel(ctx, "submit-race") }()
			// Let the insert go on once the cancel waits for it (or has
			// answered without waiting: what this test catches).
			var early error
			answered := false
			testutil.Eventually(t, wait, func() bool {
				select {
				case early = <-cancelled:
					answered = true
					return true
				default:
				}
				return contains(ts.Logs.String(), "cancel waits for the submit")
			}, "the cancel to answer or to wait for the submit")
			close(release)
			err := early
			if !answered {
				err = <-cancelled
			}
			runErr := <-ran
			if c.failInsert {
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("cancel of a run whose insert failed: %v, want 404 (the run never existed)", err)
				}
				var he *HTTPError
				if !errors.As(runErr, &he) || he.StatusCode != http.StatusInternalServerError {
					t.Fatalf("the submit: %v, want 500", runErr)
				}
				if _, err := cl.Result(ctx, "submit-race"); !errors.Is(err, ErrNotFound) {
					t.Fatalf("/results of a run never stored: %v, want 404", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("cancel of a run being stored: %v, want 202", err)
			}
			if runErr != nil {
				t.Fatal(runErr)
			}
			if r := waitResult(t, cl, "submit-race"); r.Status != StatusCancelled {
				t.Fatalf("/results: %s, want cancelled", r.Status)
			}
		})
	}
}
