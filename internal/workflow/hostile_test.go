package workflow

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"outrigger/internal/testutil"
)

// A web page cannot drive the engine: a forged Origin, a rebinding Host and
// a text/plain POST are refused over real HTTP, and nothing is started.
func TestBrowserCannotDriveEngine(t *testing.T) {
	ts := startService(t, func(o *Options) {
		o.AllowedHosts = []string{"engine.lan"}
		o.AllowedOrigins = []string{"http://localhost:5173"}
	})
	run := `{"workflow_id":"echo","input":{"text":"x"},"callback_url":"http://evil.example/steal"}`
	for _, c := range []struct {
		name, method, path, host, origin, ctype, body string
		want                                          int
	}{
		{"forged origin starts no run", "POST", "/workflow/stream", "", "http://evil.example", "application/json", run, 403},
		{"forged origin cancels nothing", "POST", "/executions/x/cancel", "", "http://evil.example", "", "", 403},
		{"cross-site fetch", "POST", "/deploy/stream", "", "", "application/json", run, 403},
		{"rebinding host reads nothing", "GET", "/results/x", "attacker.rebind.example", "", "", "", 403},
		{"rebinding host with port", "POST", "/deploy/stream", "attacker.rebind.example:8001", "", "application/json", run, 403},
		{"text/plain post", "POST", "/deploy/stream", "", "", "text/plain", run, 415},
		{"form post", "POST", "/workflow/stream", "", "", "application/x-www-form-urlencoded", run, 415},
		{"listed host", "GET", "/health", "engine.lan", "", "", "", 200},
		{"listed origin", "GET", "/executions/status", "", "http://localhost:5173", "", "", 200},
		{"localhost", "GET", "/health", "localhost:8001", "", "", "", 200},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, ts.URL+c.path, strings.NewReader(c.body))
			if c.host != "" {
				req.Host = c.host
			}
			if c.origin != "" {
				req.Header.Set("Origin", c.origin)
			}
			if c.name == "cross-site fetch" {
				req.Header.Set("Sec-Fetch-Site", "cross-site")
			}
			if c.ctype != "" {
				req.Header.Set("Content-Type", c.ctype)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.want {
				t.Fatalf("%d %s, want %d", resp.StatusCode, b, c.want)
			}
		})
	}
	var n int
	if err := openDB(t, ts.Dir).QueryRow(`SELECT count(*) FROM execution_meta`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d executions stored (%v); refused requests must start none", n, err)
	}
}

// A client that sends its headers and part of a body is dropped after
// ReadTimeout instead of being held for minutes.
func TestSlowRequestDropped(t *testing.T) {
	ts := startService(t, func(o *Options) { o.ReadTimeout = 200 * time.Millisecond })
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /workflow/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"workflow_id\":")
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.ReadAll(conn); err != nil {
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatal("the server still held a half-sent request after 20s")
		}
	}
}

// The timeouts do not cut a legitimate long stream or a long /deploy wait:
// each write of a stream gets its own deadline, and the read deadline is
// lifted once the body is in.
func TestLongRunsOutliveTimeouts(t *testing.T) {
	ts := startService(t, func(o *Options) {
		o.ReadTimeout, o.WriteTimeout, o.PingInterval = 150*time.Millisecond, 150*time.Millisecond, 50*time.Millisecond
	})
	in := raw(`{"delay_ms":120,"nodes":6}`) // the work takes ~5 timeouts
	var end *EndEvent
	if err := ts.Client.Stream(ctxT(t, 30*time.Second), "pipeline", in, "long-stream", func(ev StreamEvent) {
		if ev.End != nil {
			end = ev.End
		}
	}); err != nil || end == nil || end.Status != StatusCompleted {
		t.Fatalf("long stream: %v, end %+v", err, end)
	}
	if r, err := ts.Client.Deploy(ctxT(t, 30*time.Second), RunRequest{WorkflowID: "pipeline", Input: in, InteractionID: "long-deploy"}); err != nil || r.Status != StatusCompleted {
		t.Fatalf("long deploy: %v %+v", err, r)
	}
}

// nonReader posts body to path on a connection with a small receive buffer
// and never reads the reply.
func nonReader(t testing.TB, addr, path, body string) net.Conn {
	t.Helper()
	d := &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) { serr = setRcvbuf(fd, 4096) }); err != nil {
			return err
		}
		return serr
	}}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", path, len(body), body)
	return conn
}

// bigRun is a pipeline whose stream carries about 3 MB (50 outputs of 60 KB).
func bigRun(id, callback string) string {
	b, _ := json.Marshal(map[string]any{"workflow_id": "pipeline", "interaction_id": id, "callback_url": callback,
		"input": map[string]any{"text": strings.Repeat("a", 60000), "delay_ms": 0, "nodes": 50}})
	return string(b)
}

// A stream whose client stopped reading is dropped once it is
// MaxStreamBuffer bytes behind; the execution completes and its result is
// fetchable.
func TestStalledStreamDropped(t *testing.T) {
	ts := startService(t, func(o *Options) { o.MaxStreamBuffer = 256 << 10 })
	nonReader(t, strings.TrimPrefix(ts.URL, "http://"), "/workflow/stream", bigRun("stalled", ""))
	testutil.Eventually(t, 20*time.Second, func() bool { return contains(ts.Logs.String(), "stream dropped") },
		"the stalled stream to be dropped")
	r := waitResult(t, ts.Client, "stalled")
	if r.Status != StatusCompleted || len(r.Nodes) != 50 {
		t.Fatalf("after the drop: %s with %d nodes", r.Status, len(r.Nodes))
	}
}

func hostileBinary(t *testing.T, env ...string) (*process, *Client) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := testutil.BuildBinary(t, "outrigger/cmd/xgen-workflow", "xgen-workflow")
	p := startProcess(t, bin, t.TempDir(), append([]string{"MAX_CONCURRENT_WORKFLOWS=4"}, env...)...)
	return p, &Client{BaseURL: p.url}
}

// The binary's peak RSS while stalledClients non-reading clients each run a
// 3 MB stream: the streams are dropped, not held with their runs' events.
// (H2_EXTRA_ENV passes one more variable to the binary, e.g.
// STREAM_BUFFER_BYTES=1000000000000 to see the test fail without the drop.)
func TestStalledStreamsMemory(t *testing.T) {
	const stalledClients = 100
	p, c := hostileBinary(t, "MAX_QUEUED_WORKFLOWS=100", os.Getenv("H2_EXTRA_ENV"))
	addr := strings.TrimPrefix(p.url, "http://")
	for i := range stalledClients {
		nonReader(t, addr, "/workflow/stream", bigRun(fmt.Sprintf("stall-%d", i), ""))
	}
	for i := range stalledClients {
		if r := waitResult(t, c, fmt.Sprintf("stall-%d", i)); r.Status != StatusCompleted {
			t.Fatalf("stall-%d: %s %s", i, r.Status, r.Error)
		}
	}
	peak := testutil.PeakRSS(t, p.cmd.Process.Pid)
	t.Logf("xgen-workflow peak RSS %d MB with %d stalled 3 MB streams (%d dropped)", peak>>20, stalledClients, strings.Count(p.out.String(), "stream dropped"))
	// Measured: 99 MB; 195 MB with STREAM_BUFFER_BYTES=1e12 (no drop).
	const bound = 150 << 20
	if peak > bound {
		t.Fatalf("peak RSS %d MB, bound %d MB", peak>>20, bound>>20)
	}
}

// The binary's peak RSS while hookRuns large results wait on a webhook
// receiver that accepts connections and never answers: no delivery holds
// its body between attempts, and the bodies in flight share one budget.
func TestWebhookBacklogMemory(t *testing.T) {
	const hookRuns = 24
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held sync.WaitGroup
	var conns []net.Conn
	var mu sync.Mutex
	held.Add(1)
	go func() { // accept, and never answer
		defer held.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		held.Wait()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	p, c := hostileBinary(t)
	callback := "http://" + ln.Addr().String() + "/hook"
	var wg sync.WaitGroup
	var failed atomic.Int32
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range hookRuns / 4 {
				resp, err := http.Post(p.url+"/workflow/stream", "application/json", strings.NewReader(bigRun(fmt.Sprintf("hook-%d-%d", w, i), callback)))
				if err != nil {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d runs failed to start", failed.Load())
	}
	testutil.Eventually(t, 30*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(conns) >= 1
	}, "a delivery to reach the receiver")
	for w := range 4 {
		for i := range hookRuns / 4 {
			if r := waitResult(t, c, fmt.Sprintf("hook-%d-%d", w, i)); r.Status != StatusCompleted || r.Webhook != "pending" {
				t.Fatalf("hook-%d-%d: %s webhook %q", w, i, r.Status, r.Webhook)
			}
		}
	}
	peak := testutil.PeakRSS(t, p.cmd.Process.Pid)
	t.Logf("xgen-workflow peak RSS %d MB with %d 6 MB results waiting on a silent webhook", peak>>20, hookRuns)
	// Measured: 103 MB; 389 MB with the budget lifted (every body in flight).
	const bound = 150 << 20
	if peak > bound {
		t.Fatalf("peak RSS %d MB, bound %d MB", peak>>20, bound>>20)
	}
}

// A 3xx from the receiver is a failed delivery: the redirect is not
// followed (a 302 would turn the POST into a body-less GET, and a loop into
// many POSTs), and it is not retried.
func TestWebhookRedirectIsAFailure(t *testing.T) {
	var mu sync.Mutex
	hits := map[string]int{}
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits[r.Method+" "+r.URL.Path]++
		mu.Unlock()
		switch r.URL.Path {
		case "/found":
			http.Redirect(w, r, "/target", http.StatusFound)
		case "/temporary":
			http.Redirect(w, r, "/target", http.StatusTemporaryRedirect)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	defer receiver.Close()
	ts := startService(t, func(o *Options) { o.WebhookAttempts = 3 })
	for _, p := range []string{"/found", "/temporary", "/loop"} {
		id := "redir" + strings.ReplaceAll(p, "/", "-")
		if _, err := ts.Client.Deploy(ctxT(t, 20*time.Second), RunRequest{WorkflowID: "echo", Input: raw(`{"text":"a"}`),
			InteractionID: id, CallbackURL: receiver.URL + p}); err != nil {
			t.Fatal(err)
		}
		var r Result
		testutil.Eventually(t, 20*time.Second, func() bool {
			r, _ = ts.Client.Result(context.Background(), "deploy_"+id)
			return r.Webhook != "pending" && r.Webhook != ""
		}, "%s webhook to end", id)
		if r.Webhook != "failed" || r.WebhookAttempts != 1 || !contains(r.WebhookError, "redirect") {
			t.Fatalf("%s: webhook %s after %d attempts (%s), want failed after 1", p, r.Webhook, r.WebhookAttempts, r.WebhookError)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if hits["POST /found"] != 1 || hits["POST /temporary"] != 1 || hits["POST /loop"] != 1 || hits["GET /target"]+hits["POST /target"] != 0 {
		t.Fatalf("receiver saw %v", hits)
	}
}

// Credentials in a callback URL are used (HTTP basic auth) but never
// logged nor stored: the database files and the log hold them masked.
func TestWebhookCredentialsMasked(t *testing.T) {
	const user, pass = "hookuser7d1", "hookpass93c"
	var gotUser, gotPass atomic.Value
	var calls atomic.Int32
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, _ := r.BasicAuth()
		gotUser.Store(u)
		gotPass.Store(p)
		if calls.Add(1) == 1 {
			http.Error(w, "later", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "http://" + user + ":" + pass + "@" + dead.Addr().String() + "/cb"
	dead.Close() // connection refused: the client's error names the URL
	ts := startService(t, func(o *Options) { o.WebhookAttempts = 2 })
	cb := strings.Replace(receiver.URL, "http://", "http://"+user+":"+pass+"@", 1) + "/cb"
	for id, url := range map[string]string{"cred-ok": cb, "cred-dead": deadURL} {
		if _, err := ts.Client.Deploy(ctxT(t, 20*time.Second), RunRequest{WorkflowID: "echo", Input: raw(`{"text":"a"}`), InteractionID: id, CallbackURL: url}); err != nil {
			t.Fatal(err)
		}
	}
	for id, want := range map[string]string{"deploy_cred-ok": "delivered", "deploy_cred-dead": "failed"} {
		testutil.Eventually(t, 20*time.Second, func() bool {
			r, _ := ts.Client.Result(context.Background(), id)
			return r.Webhook == want
		}, "%s webhook %s", id, want)
	}
	if gotUser.Load() != user || gotPass.Load() != pass {
		t.Fatalf("receiver got basic auth %v:%v", gotUser.Load(), gotPass.Load())
	}
	var stored string
	if err := openDB(t, ts.Dir).QueryRow(`SELECT group_concat(callback_url || ' ' || webhook_error, ' | ') FROM execution_meta`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if !contains(stored, "redacted@127.0.0.1") {
		t.Fatalf("callback URLs stored as %q, want masked", stored)
	}
	files, _ := filepath.Glob(filepath.Join(ts.Dir, DBFile+"*"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if bytes.Contains(b, []byte(user)) || bytes.Contains(b, []byte(pass)) {
			t.Errorf("%s holds the callback credentials", filepath.Base(f))
		}
	}
	if logs := ts.Logs.String(); contains(logs, user) || contains(logs, pass) {
		t.Errorf("the log holds the callback credentials:\n%s", logs)
	}
}

// Every attempt reads the result from the store again (nothing is held
// between attempts): a change stored between two attempts is in the second
// body.
func TestWebhookRereadsTheStore(t *testing.T) {
	var dir string
	var bodies [][]byte
	var mu sync.Mutex
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, b)
		n := len(bodies)
		mu.Unlock()
		if n == 1 {
			db, err := sql.Open("sqlite", dsn(filepath.Join(dir, DBFile), false))
			if err == nil {
				_, err = db.Exec(`UPDATE execution_meta SET output = '{"text":"changed"}' WHERE interaction_id = 'deploy_reread'`)
				db.Close()
			}
			if err != nil {
				t.Error(err)
			}
			http.Error(w, "again", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()
	ts := startService(t, nil)
	dir = ts.Dir
	if _, err := ts.Client.Deploy(ctxT(t, 20*time.Second), RunRequest{WorkflowID: "echo", Input: raw(`{"text":"a"}`), InteractionID: "reread", CallbackURL: receiver.URL}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 20*time.Second, func() bool {
		r, _ := ts.Client.Result(context.Background(), "deploy_reread")
		return r.Webhook == "delivered"
	}, "delivery")
	mu.Lock()
	defer mu.Unlock()
	var first, second Result
	if len(bodies) != 2 || json.Unmarshal(bodies[0], &first) != nil || json.Unmarshal(bodies[1], &second) != nil {
		t.Fatalf("%d bodies", len(bodies))
	}
	if string(first.Output) != `{"text":"A","mode":"upper","length":1}` || string(second.Output) != `{"text":"changed"}` {
		t.Fatalf("outputs %s then %s: the second attempt must read the store again", first.Output, second.Output)
	}
}

// A huge URL is refused (431) before any handler, and no request puts more
// than a bounded path into the log (the supervisor captures it).
func TestHugeURLNotServedNorLogged(t *testing.T) {
	ts := startService(t, nil)
	resp, err := http.Get(ts.URL + "/results/" + strings.Repeat("u", 200<<10))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("200 KB URL: %s, want 431", resp.Status)
	}
	resp, err = http.Get(ts.URL + "/results/" + strings.Repeat("v", 50<<10)) // under the header limit: 404, logged clipped
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	testutil.Eventually(t, 10*time.Second, func() bool { return contains(ts.Logs.String(), "vvvv…") }, "the request to be logged")
	for _, line := range strings.Split(ts.Logs.String(), "\n") {
		if len(line) > 2048 {
			t.Fatalf("a log line of %d bytes", len(line))
		}
	}
}
