package workflow

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"outrigger/internal/testutil"
)

func TestMain(m *testing.M) { testutil.RunMain(m) }

type testService struct {
	*Service
	URL    string
	Client *Client
	Logs   *testutil.Buffer
	Dir    string
}

// startService runs a Service on a real 127.0.0.1 listener with its database
// in a temp dir; t.Cleanup shuts it down (which waits for every goroutine).
func startService(t testing.TB, configure func(*Options)) *testService {
	t.Helper()
	logs := &testutil.Buffer{}
	// Tests log everything (shown on failure); benchmarks format lines as
	// production does (Info) but keep none.
	var out io.Writer = io.Discard
	level := slog.LevelInfo
	if _, ok := t.(*testing.T); ok {
		out, level = io.MultiWriter(logs, t.Output()), slog.LevelDebug
	}
	opts := Options{
		DataDir:        t.TempDir(),
		MaxWorkers:     4,
		MaxQueued:      100,
		ShutdownGrace:  2 * time.Second,
		Logger:         slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: level})),
		WebhookBackoff: 50 * time.Millisecond,
	}
	if configure != nil {
		configure(&opts)
	}
	svc, err := Open(context.Background(), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	served := make(chan error, 1)
	go func() { served <- svc.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := svc.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	url := "http://" + ln.Addr().String()
	return &testService{Service: svc, URL: url, Client: &Client{BaseURL: url}, Logs: logs, Dir: opts.DataDir}
}

// openDB opens the service's database file read-only, as a second process
// would.
func openDB(t testing.TB, dir string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", dsn(filepath.Join(dir, DBFile), true))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func raw(s string) json.RawMessage { return json.RawMessage(s) }

// wait bounds the helpers' polls: generous, since a run may wait behind a
// whole queue (TestStalledStreamsMemory's 100 runs of 3 MB on 4 workers
// took over 30 s under -race beside a second make test, load 7).
const wait = 90 * time.Second

// waitResult polls GET /results until the execution reaches a terminal status.
func waitResult(t testing.TB, c *Client, id string) Result {
	t.Helper()
	var res Result
	testutil.Eventually(t, wait, func() bool {
		r, err := c.Result(context.Background(), id)
		if err != nil {
			return false
		}
		res = r
		return Terminal(r.Status)
	}, "execution %s to end", id)
	return res
}

// waitStatus polls GET /executions/status until cond holds.
func waitStatus(t testing.TB, c *Client, cond func(ExecStatus) bool, what string) {
	t.Helper()
	testutil.Eventually(t, wait, func() bool {
		s, err := c.Status(context.Background())
		return err == nil && cond(s)
	}, "%s", what)
}

// postJSON posts body and returns the reply.
func postJSON(t testing.TB, url string, body any) (*http.Response, []byte) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	return resp, rb
}

// fakeEmbedding mimics xgen-embedding's POST /embed.
func fakeEmbedding(t testing.TB, dim int) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/embed" {
			http.NotFound(w, r)
			return
		}
		var req struct {
			Input json.RawMessage `json:"input"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var inputs []string
		if err := json.Unmarshal(req.Input, &inputs); err != nil {
			var one string
			if err := json.Unmarshal(req.Input, &one); err != nil {
				http.Error(w, "input: want a string or a list", http.StatusBadRequest)
				return
			}
			inputs = []string{one}
		}
		type item struct {
			Index     int       `json:"index"`
			Embedding []float64 `json:"embedding"`
		}
		out := struct {
			Model string `json:"model"`
			Dim   int    `json:"dim"`
			Data  []item `json:"data"`
		}{Model: "fake-embed", Dim: dim}
		for i, s := range inputs {
			v := make([]float64, dim)
			for j := range v {
				v[j] = float64((len(s)+j)%7) / 7 // deterministic
			}
			out.Data = append(out.Data, item{Index: i, Embedding: v})
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// probeWorkflow is a test workflow whose single node records how many run at
// once (atomic current and max counters), then holds for hold (or until
// cancelled).
func probeWorkflow(cur, peak *atomic.Int64, hold time.Duration) Workflow {
	return Workflow{
		Info: WorkflowInfo{ID: "probe", Description: "test", Nodes: []NodeInfo{{ID: "probe"}},
			InputSchema: raw(`{}`), ExampleInput: raw(`{}`)},
		Plan: func(json.RawMessage) ([]Node, error) {
			return []Node{{ID: "probe", Run: func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
				n := cur.Add(1)
				defer cur.Add(-1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				if err := sleepCtx(ctx, hold); err != nil { // the work, not synchronisation
					return nil, err
				}
				return raw(`{"ok":true}`), nil
			}}}, nil
		},
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
