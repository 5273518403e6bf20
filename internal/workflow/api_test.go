package workflow

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"outrigger/internal/testutil"
)

type delivery struct {
	header http.Header
	body   []byte
}

// The result is POSTed to callback_url, retried after the receiver first
// answers 500, and signed with HMAC-SHA256 of the body.
func TestWebhookRetriedAndSigned(t *testing.T) {
	const secret = "s3cret"
	var mu sync.Mutex
	var got []delivery
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, delivery{r.Header.Clone(), b})
		n := len(got)
		mu.Unlock()
		if n == 1 {
			http.Error(w, "not yet", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()

	ts := startService(t, func(o *Options) { o.WebhookSecret = secret; o.WebhookBackoff = 100 * time.Millisecond })
	res, err := ts.Client.Deploy(ctxT(t, 20*time.Second), RunRequest{WorkflowID: "pipeline",
		Input: raw(`{"text":"w","delay_ms":5,"nodes":2}`), InteractionID: "hook-1", CallbackURL: receiver.URL + "/cb"})
	if err != nil || res.Status != StatusCompleted {
		t.Fatalf("deploy: %v %+v", err, res)
	}
	if res.InteractionID != "deploy_hook-1" {
		t.Fatalf("interaction id %q, want deploy_hook-1", res.InteractionID)
	}
	var stored Result
	testutil.Eventually(t, 20*time.Second, func() bool {
		r, err := ts.Client.Result(context.Background(), "deploy_hook-1")
		stored = r
		return err == nil && r.Webhook == "delivered"
	}, "webhook delivered")
	if stored.WebhookAttempts != 2 {
		t.Fatalf("attempts %d, want 2", stored.WebhookAttempts)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 {
		t.Fatalf("%d deliveries, want 2", len(got))
	}
	for i, d := range got {
		sig := d.header.Get(HeaderSignature)
		if !VerifySignature(secret, d.body, sig) {
			t.Fatalf("delivery %d: signature %q does not verify", i+1, sig)
		}
		// Check it independently of VerifySignature too.
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(d.body)
		if want := "sha256=" + hex.EncodeToString(mac.Sum(nil)); sig != want {
			t.Fatalf("signature %q, want %q", sig, want)
		}
		if VerifySignature("wrong", d.body, sig) || VerifySignature(secret, append(d.body, ' '), sig) {
			t.Fatal("signature verifies with a wrong secret or body")
		}
		if ts, err := strconv.ParseInt(d.header.Get(HeaderTimestamp), 10, 64); err != nil || time.Since(time.Unix(ts, 0)) > time.Minute {
			t.Fatalf("timestamp header %q", d.header.Get(HeaderTimestamp))
		}
		if a := d.header.Get(HeaderAttempt); a != strconv.Itoa(i+1) {
			t.Fatalf("attempt header %q, want %d", a, i+1)
		}
		if e := d.header.Get(HeaderEvent); e != "execution.completed" {
			t.Fatalf("event header %q", e)
		}
		var body Result
		if err := json.Unmarshal(d.body, &body); err != nil {
			t.Fatal(err)
		}
		if body.InteractionID != "deploy_hook-1" || body.Status != StatusCompleted || len(body.Nodes) != 2 ||
			string(body.Output) != `{"text":"w|1|2","step":2,"of":2}` {
			t.Fatalf("webhook body %s", d.body)
		}
	}
	if string(got[0].body) != string(got[1].body) {
		t.Fatal("retries must resend the same body")
	}
}

// A receiver that always fails: the delivery gives up after the configured
// attempts and says so in the result; a 4xx is not retried.
func TestWebhookGivesUp(t *testing.T) {
	var mu sync.Mutex
	calls := map[string]int{}
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls[r.URL.Path]++
		mu.Unlock()
		if r.URL.Path == "/gone" {
			http.Error(w, "gone", http.StatusGone)
			return
		}
		http.Error(w, "down", http.StatusBadGateway)
	}))
	defer receiver.Close()
	ts := startService(t, func(o *Options) { o.WebhookAttempts = 3; o.WebhookBackoff = 10 * time.Millisecond })
	for _, p := range []string{"/down", "/gone"} {
		if _, err := ts.Client.Deploy(ctxT(t, 20*time.Second), RunRequest{WorkflowID: "echo", Input: raw(`{"text":"a"}`),
			InteractionID: "give-up" + strings.ReplaceAll(p, "/", "-"), CallbackURL: receiver.URL + p}); err != nil {
			t.Fatal(err)
		}
	}
	for id, want := range map[string]int{"deploy_give-up-down": 3, "deploy_give-up-gone": 1} {
		var r Result
		testutil.Eventually(t, 20*time.Second, func() bool {
			r, _ = ts.Client.Result(context.Background(), id)
			return r.Webhook == "failed"
		}, "%s webhook to fail", id)
		if r.WebhookAttempts != want || !strings.Contains(r.WebhookError, "receiver replied") {
			t.Fatalf("%s: attempts %d (%q), want %d", id, r.WebhookAttempts, r.WebhookError, want)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if calls["/down"] != 3 || calls["/gone"] != 1 {
		t.Fatalf("calls %v", calls)
	}
}

func TestDeploy(t *testing.T) {
	ts := startService(t, nil)
	// json (default): one reply when done; the prefix is added.
	resp, body := postJSON(t, ts.URL+"/deploy/stream", map[string]any{"workflow_id": "echo", "interaction_id": "bot-7",
		"input": map[string]any{"text": "abc", "mode": "reverse"}})
	var r Result
	if err := json.Unmarshal(body, &r); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%s %s", resp.Status, body)
	}
	if r.InteractionID != "deploy_bot-7" || r.Status != StatusCompleted || string(r.Output) != `{"text":"cba","mode":"reverse","length":3}` {
		t.Fatalf("deploy json: %s", body)
	}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("content type %q", resp.Header.Get("Content-Type"))
	}
	// Already prefixed: unchanged. Absent: generated with the prefix.
	r, err := ts.Client.Deploy(ctxT(t, 10*time.Second), RunRequest{WorkflowID: "echo", Input: raw(`{"text":"x"}`), InteractionID: "deploy_keep"})
	if err != nil || r.InteractionID != "deploy_keep" {
		t.Fatalf("%v %q", err, r.InteractionID)
	}
	r, err = ts.Client.Deploy(ctxT(t, 10*time.Second), RunRequest{WorkflowID: "echo", Input: raw(`{"text":"x"}`)})
	if err != nil || !strings.HasPrefix(r.InteractionID, "deploy_") || len(r.InteractionID) < 10 {
		t.Fatalf("%v %q", err, r.InteractionID)
	}

	// stream: SSE ending with event: end.
	resp, body = postJSON(t, ts.URL+"/deploy/stream", map[string]any{"workflow_id": "pipeline", "interaction_id": "s1",
		"response_format": "stream", "input": map[string]any{"delay_ms": 1, "nodes": 2}})
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" || resp.Header.Get("X-Interaction-Id") != "deploy_s1" {
		t.Fatalf("stream: %s %q %q", resp.Status, ct, resp.Header.Get("X-Interaction-Id"))
	}
	var types []string
	var end *EndEvent
	if err := ReadSSE(strings.NewReader(string(body)), func(ev StreamEvent) bool {
		types = append(types, ev.Type)
		end = ev.End
		return true
	}); !errors.Is(err, ErrStreamEnded) {
		t.Fatal(err)
	}
	if end == nil || end.Status != StatusCompleted || strings.Count(strings.Join(types, ","), EventData) != 2 {
		t.Fatalf("events %v end %+v", types, end)
	}

	// The deploy caller may also leave before the JSON reply: the run goes on.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = ts.Client.Deploy(ctx, RunRequest{WorkflowID: "pipeline", Input: raw(`{"delay_ms":150,"nodes":3}`), InteractionID: "bot-leaves"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("deploy with a short ctx: %v", err)
	}
	if r := waitResult(t, ts.Client, "deploy_bot-leaves"); r.Status != StatusCompleted || len(r.Nodes) != 3 {
		t.Fatalf("after the bot left: %+v", r)
	}

	resp, body = postJSON(t, ts.URL+"/deploy/stream", map[string]any{"workflow_id": "echo", "response_format": "xml", "input": map[string]any{"text": "a"}})
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("response_format xml: %s %s", resp.Status, body)
	}
}

// The Client against the real server: catalogue, a full stream, results,
// status, errors.
func TestClient(t *testing.T) {
	ts := startService(t, nil)
	c := ts.Client
	ctx := ctxT(t, 30*time.Second)

	wfs, err := c.Workflows(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]WorkflowInfo{}
	for _, w := range wfs {
		ids[w.ID] = w
		if w.Description == "" || len(w.Nodes) == 0 || !json.Valid(w.InputSchema) || !json.Valid(w.ExampleInput) {
			t.Fatalf("incomplete catalogue entry %+v", w)
		}
	}
	for _, id := range []string{"echo", "pipeline", "embed"} {
		if _, ok := ids[id]; !ok {
			t.Fatalf("catalogue lacks %s: %v", id, wfs)
		}
	}
	// Every example input is accepted by its workflow's Plan.
	for _, w := range Builtin("http://127.0.0.1:1", nil) {
		if _, err := w.Plan(w.Info.ExampleInput); err != nil {
			t.Fatalf("%s example: %v", w.Info.ID, err)
		}
	}

	var seq []string
	err = c.Stream(ctx, "echo", raw(`{"text":"héllo","mode":"both"}`), "cli-1", func(ev StreamEvent) {
		s := ev.Type
		switch {
		case ev.Log != nil:
			s += ":" + ev.Log.Status
			if ev.Log.InteractionID != "cli-1" {
				t.Errorf("log for %q", ev.Log.InteractionID)
			}
		case ev.Node != nil:
			s += ":" + string(ev.Node.Output)
		case ev.End != nil:
			s += ":" + ev.End.Status + ":" + string(ev.End.Output)
		}
		seq = append(seq, s)
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"log:queued", "log:running", "log:node_started",
		`data:{"text":"OLLÉH","mode":"both","length":5}`, "log:node_completed",
		`end:completed:{"text":"OLLÉH","mode":"both","length":5}`}
	if strings.Join(seq, "\n") != strings.Join(want, "\n") {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(seq, "\n"), strings.Join(want, "\n"))
	}
	r, err := c.Result(ctx, "cli-1")
	if err != nil || r.Status != StatusCompleted || r.WorkflowID != "echo" || len(r.Nodes) != 1 || r.Nodes[0].NodeID != "transform" {
		t.Fatalf("result %v %+v", err, r)
	}
	if _, err := c.Result(ctx, "never-ran"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown result: %v", err)
	}
	st, err := c.Status(ctx)
	if err != nil || st.MaxWorkers != 4 || st.MaxQueued != 100 || st.Running != 0 || !st.Accepting {
		t.Fatalf("status %v %+v", err, st)
	}

	// Errors the server refuses with.
	var he *HTTPError
	if err := c.Stream(ctx, "nope", nil, "", nil); !errors.As(err, &he) || he.StatusCode != 404 {
		t.Fatalf("unknown workflow: %v", err)
	}
	if err := c.Stream(ctx, "pipeline", raw(`{"nodes":0}`), "", nil); !errors.As(err, &he) || he.StatusCode != 400 {
		t.Fatalf("bad input: %v", err)
	}
	if err := c.Stream(ctx, "echo", raw(`{"text":"a","colour":"red"}`), "", nil); !errors.As(err, &he) || he.StatusCode != 400 {
		t.Fatalf("unknown input field: %v", err)
	}
	if err := c.Stream(ctx, "echo", raw(`{}`), "", nil); !errors.As(err, &he) || he.StatusCode != 400 {
		t.Fatalf("missing text: %v", err)
	}
	if err := c.Stream(ctx, "echo", raw(`{"text":"a"}`), "bad/id", nil); !errors.As(err, &he) || he.StatusCode != 400 {
		t.Fatalf("bad interaction id: %v", err)
	}
	if _, err := c.Deploy(ctx, RunRequest{WorkflowID: "echo", Input: raw(`{"text":"a"}`), CallbackURL: "ftp://x"}); !errors.As(err, &he) || he.StatusCode != 400 {
		t.Fatalf("bad callback: %v", err)
	}
	// The same interaction id while it is still running: 409.
	leave(t, c, "pipeline", raw(`{"delay_ms":60000,"nodes":1}`), "busy-id")
	if err := c.Stream(ctx, "echo", raw(`{"text":"a"}`), "busy-id", nil); !errors.Is(err, ErrDuplicate) || errors.Is(err, ErrFinished) {
		t.Fatalf("duplicate active id: %v", err)
	}
	if err := c.Cancel(ctx, "busy-id"); err != nil {
		t.Fatal(err)
	}
	waitResult(t, c, "busy-id")
	testutil.Eventually(t, 10*time.Second, func() bool { return ts.Manager().Lookup("busy-id") == nil }, "busy-id to be released")
	// Reusing a finished id is refused (409 with its status), on both
	// routes: the earlier result stays what /results shows.
	if err := c.Stream(ctx, "echo", raw(`{"text":"again"}`), "busy-id", nil); !errors.Is(err, ErrFinished) || !errors.As(err, &he) ||
		he.StatusCode != http.StatusConflict || he.Status != StatusCancelled {
		t.Fatalf("reused finished id: %v, want 409 with status cancelled", err)
	}
	if _, err := c.Deploy(ctx, RunRequest{WorkflowID: "echo", Input: raw(`{"text":"a"}`), InteractionID: "dep-once"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Deploy(ctx, RunRequest{WorkflowID: "echo", Input: raw(`{"text":"b"}`), InteractionID: "dep-once"}); !errors.As(err, &he) ||
		he.StatusCode != http.StatusConflict || he.Status != StatusCompleted {
		t.Fatalf("reused finished id on /deploy: %v, want 409", err)
	}
	if r, _ := c.Result(ctx, "busy-id"); r.Status != StatusCancelled || r.WorkflowID != "pipeline" {
		t.Fatalf("the earlier run must stay: %+v", r)
	}
	// Without an id the server makes one and reports it in the first event.
	var gen string
	if err := c.Stream(ctx, "echo", raw(`{"text":"a"}`), "", func(ev StreamEvent) {
		if ev.Log != nil && gen == "" {
			gen = ev.Log.InteractionID
		}
	}); err != nil || gen == "" {
		t.Fatalf("generated id %q: %v", gen, err)
	}
	if _, err := c.Result(ctx, gen); err != nil {
		t.Fatal(err)
	}
}

func TestFailedExecution(t *testing.T) {
	ts := startService(t, nil)
	var end *EndEvent
	err := ts.Client.Stream(ctxT(t, 10*time.Second), "pipeline", raw(`{"delay_ms":1,"nodes":4,"fail_at":2}`), "fail-1", func(ev StreamEvent) {
		if ev.End != nil {
			end = ev.End
		}
	})
	if err != nil || end == nil || end.Status != StatusFailed || !strings.Contains(end.Error, "step-2") {
		t.Fatalf("%v %+v", err, end)
	}
	r := waitResult(t, ts.Client, "fail-1")
	if r.Status != StatusFailed || len(r.Nodes) != 2 || r.Nodes[0].Status != StatusCompleted ||
		r.Nodes[1].Status != StatusFailed || r.Nodes[1].Error == "" || r.Nodes[1].Output != nil {
		t.Fatalf("%+v", r)
	}
}

func TestEmbedWorkflow(t *testing.T) {
	emb := fakeEmbedding(t, 16)
	ts := startService(t, func(o *Options) { o.EmbeddingURL = emb.URL })
	r, err := ts.Client.Deploy(ctxT(t, 10*time.Second), RunRequest{WorkflowID: "embed", Input: raw(`{"text":"  hello   world "}`), InteractionID: "emb"})
	if err != nil || r.Status != StatusCompleted {
		t.Fatalf("%v %+v", err, r)
	}
	var out EmbedOutput
	if err := json.Unmarshal(r.Output, &out); err != nil {
		t.Fatal(err)
	}
	if out.Model != "fake-embed" || out.Dim != 16 || len(out.Prefix) != 8 || out.Norm <= 0 {
		t.Fatalf("%+v", out)
	}
	if string(r.Nodes[0].Output) != `{"text":"hello world","length":11}` {
		t.Fatalf("prepare output %s", r.Nodes[0].Output)
	}
	// The embedding sidecar down: the execution fails with its error stored.
	emb.Close()
	r, err = ts.Client.Deploy(ctxT(t, 10*time.Second), RunRequest{WorkflowID: "embed", Input: raw(`{"text":"x"}`), InteractionID: "emb-down"})
	if err != nil || r.Status != StatusFailed || !strings.Contains(r.Error, "embedding sidecar") {
		t.Fatalf("%v %+v", err, r)
	}
}

func TestHealthAndDocs(t *testing.T) {
	ts := startService(t, func(o *Options) { o.MaxWorkers = 2; o.MaxQueued = 2 })
	// Fill every worker and the queue.
	for _, id := range []string{"h1", "h2", "h3", "h4"} {
		leave(t, ts.Client, "pipeline", raw(`{"delay_ms":60000,"nodes":1}`), id)
	}
	waitStatus(t, ts.Client, func(s ExecStatus) bool { return s.Running == 2 && s.Queued == 2 }, "cap and queue full")
	var worst time.Duration
	for range 50 {
		t0 := time.Now()
		resp, err := http.Get(ts.URL + "/health")
		if err != nil {
			t.Fatal(err)
		}
		var h map[string]any
		json.NewDecoder(resp.Body).Decode(&h)
		resp.Body.Close()
		worst = max(worst, time.Since(t0))
		if resp.StatusCode != 200 || h["status"] != "ok" || h["running"] != float64(2) {
			t.Fatalf("health %d %v", resp.StatusCode, h)
		}
	}
	t.Logf("worst /health latency with the cap full: %v", worst)
	if worst > 500*time.Millisecond { // generous under -race; the benchmark measures the real figure
		t.Fatalf("/health took %v with the cap full", worst)
	}

	resp, err := http.Get(ts.URL + "/docs")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, s := range []string{"/workflow/stream", "/deploy/stream", "/results/{interaction_id}", "/executions/{interaction_id}/cancel",
		"/executions/status", "/health", "X-Outrigger-Signature", "<code>echo</code>", "<code>pipeline</code>", "<code>embed</code>"} {
		if !strings.Contains(string(b), s) {
			t.Fatalf("/docs lacks %q", s)
		}
	}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatal(resp.Header.Get("Content-Type"))
	}
}

// Webhook deliveries belong to the Manager: a delivery waiting to retry ends
// when the service shuts down, and says so.
func TestWebhookEndsAtShutdown(t *testing.T) {
	hit := make(chan struct{}, 10)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hit <- struct{}{}
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer receiver.Close()
	dir := t.TempDir()
	svc, err := Open(context.Background(), Options{DataDir: dir, ShutdownGrace: 200 * time.Millisecond, WebhookBackoff: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ex, err := svc.Manager().Submit(RunRequest{WorkflowID: "echo", Input: raw(`{"text":"a"}`), InteractionID: "hook-stop", CallbackURL: receiver.URL})
	if err != nil {
		t.Fatal(err)
	}
	<-ex.Done()
	select {
	case <-hit:
	case <-time.After(20 * time.Second):
		t.Fatal("no delivery attempt")
	}
	t0 := time.Now()
	if err := svc.Shutdown(ctxT(t, 20*time.Second)); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d > 5*time.Second {
		t.Fatalf("shutdown waited %v for a webhook backing off for an hour", d)
	}
	s, _, err := OpenStore(context.Background(), filepath.Join(dir, DBFile))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r, err := s.Result(context.Background(), "hook-stop")
	if err != nil || r.Webhook != "failed" || r.WebhookAttempts != 1 || !strings.Contains(r.WebhookError, "shutdown") {
		t.Fatalf("%v webhook=%q attempts=%d err=%q", err, r.Webhook, r.WebhookAttempts, r.WebhookError)
	}
}

// The embedding sidecar still loading (503) is retried within the node.
func TestEmbedRetriesWhileLoading(t *testing.T) {
	real := fakeEmbedding(t, 4)
	var mu sync.Mutex
	calls := 0
	loading := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		if n == 1 {
			http.Error(w, "model loading", http.StatusServiceUnavailable)
			return
		}
		real.Config.Handler.ServeHTTP(w, r)
	}))
	defer loading.Close()
	ts := startService(t, func(o *Options) { o.EmbeddingURL = loading.URL })
	r, err := ts.Client.Deploy(ctxT(t, 10*time.Second), RunRequest{WorkflowID: "embed", Input: raw(`{"text":"x"}`)})
	if err != nil || r.Status != StatusCompleted {
		t.Fatalf("%v %+v", err, r)
	}
	mu.Lock()
	defer mu.Unlock()
	if calls != 2 {
		t.Fatalf("%d calls, want 2", calls)
	}
}

// webhook_attempts counts the POSTs made. A delivery that shutdown ends
// before it could post (waiting for room in the webhook byte budget, here
// held by another delivery whose receiver does not answer) made none, and
// says so: attempts 0, not 1.
func TestWebhookNotPostedIsNoAttempt(t *testing.T) {
	var mu sync.Mutex
	posts := map[string]int{}
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // then the server notices the sender leave
		mu.Lock()
		posts[r.URL.Path]++
		mu.Unlock()
		<-r.Context().Done() // never answers: the sender gives up at shutdown
	}))
	defer receiver.Close()
	// A budget of one byte: each delivery's attempt takes all of it.
	ts := startService(t, func(o *Options) { o.WebhookBudget = 1 })
	for _, id := range []string{"holder", "waiter"} {
		if _, err := ts.Client.Deploy(ctxT(t, wait), RunRequest{WorkflowID: "echo", Input: raw(`{"text":"a"}`),
			InteractionID: id, CallbackURL: receiver.URL + "/" + id}); err != nil {
			t.Fatal(err)
		}
		if id == "holder" {
			testutil.Eventually(t, wait, func() bool {
				mu.Lock()
				defer mu.Unlock()
				return posts["/holder"] == 1
			}, "the first delivery to post (and hold the budget)")
		}
	}
	if err := ts.Shutdown(ctxT(t, wait)); err != nil {
		t.Fatal(err)
	}
	s, _, err := OpenStore(context.Background(), filepath.Join(ts.Dir, DBFile))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mu.Lock()
	defer mu.Unlock()
	for id, want := range map[string]int{"deploy_holder": 1, "deploy_waiter": 0} {
		r, err := s.Result(context.Background(), id)
		if err != nil || r.Webhook != "failed" || r.WebhookAttempts != want || posts["/"+id[len("deploy_"):]] != want {
			t.Errorf("%s: %v webhook %q attempts %d (%q), receiver saw %d posts; want failed after %d",
				id, err, r.Webhook, r.WebhookAttempts, r.WebhookError, posts["/"+id[len("deploy_"):]], want)
		}
	}
}
