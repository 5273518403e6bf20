package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"outrigger/internal/testutil"
)

// Shutdown lets short executions finish, stores the long ones as
// interrupted when the grace period ends, and closes the database. The
// test decides when each run ends: "short" is released once shutdown has
// begun, "long" never is, and the grace period ends when the test cancels
// Shutdown's context (ShutdownGrace itself is an hour).
func TestGracefulShutdown(t *testing.T) {
	dir := t.TempDir()
	releaseShort, never := make(chan struct{}), make(chan struct{})
	svc, err := Open(context.Background(), Options{DataDir: dir, MaxWorkers: 2, MaxQueued: 5, ShutdownGrace: time.Hour,
		Workflows: append(Builtin("", nil), gatedWorkflow("short", 2, releaseShort), gatedWorkflow("long", 2, never))})
	if err != nil {
		t.Fatal(err)
	}
	m := svc.Manager()
	long, err := m.Submit(RunRequest{WorkflowID: "long", Input: raw(`{"text":"l"}`), InteractionID: "long"})
	if err != nil {
		t.Fatal(err)
	}
	short, err := m.Submit(RunRequest{WorkflowID: "short", Input: raw(`{"text":"s"}`), InteractionID: "short"})
	if err != nil {
		t.Fatal(err)
	}
	queued, err := m.Submit(RunRequest{WorkflowID: "echo", Input: raw(`{"text":"q"}`), InteractionID: "queued"})
	if err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, func() bool { return m.Status().Running == 2 }, "two running")

	ctx, endGrace := context.WithCancel(context.Background())
	defer endGrace()
	shut := make(chan error, 1)
	go func() { shut <- svc.Shutdown(ctx) }()
	testutil.Eventually(t, 10*time.Second, func() bool { return !m.Status().Accepting }, "shutdown to begin")
	select {
	case <-queued.Done(): // a queued run never starts after shutdown began
	case <-time.After(20 * time.Second):
		t.Fatal("the queued execution did not end")
	}
	close(releaseShort)
	select {
	case <-short.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("the short execution did not finish within the grace period")
	}
	select {
	case <-long.Done():
		t.Fatal("the long execution ended before the grace period did")
	default:
	}
	endGrace()
	select {
	case err := <-shut:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Shutdown did not return after the grace period ended")
	}
	for ex, want := range map[*Execution]string{long: StatusInterrupted, short: StatusCompleted, queued: StatusInterrupted} {
		select {
		case <-ex.Done():
		default:
			t.Fatalf("%s not done after Shutdown", ex.InteractionID)
		}
		if got := ex.End().Status; got != want {
			t.Errorf("%s ended %s, want %s", ex.InteractionID, got, want)
		}
	}
	if _, err := m.Submit(RunRequest{WorkflowID: "echo", Input: raw(`{"text":"late"}`), InteractionID: "late"}); !errors.Is(err, ErrClosed) {
		t.Fatalf("submit after shutdown: %v", err)
	}

	// Stored before closing: a fresh open finds nothing left to mark.
	s, n, err := OpenStore(context.Background(), filepath.Join(dir, DBFile))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n != 0 {
		t.Fatalf("%d executions left running by a graceful shutdown", n)
	}
	for id, want := range map[string]string{"long": StatusInterrupted, "short": StatusCompleted, "queued": StatusInterrupted} {
		r, err := s.Result(context.Background(), id)
		if err != nil || r.Status != want {
			t.Fatalf("%s: %v %s, want %s", id, err, r.Status, want)
		}
	}
}

// An execution a dead process left running is marked interrupted on open.
func TestOpenMarksLeftoversInterrupted(t *testing.T) {
	path := filepath.Join(t.TempDir(), DBFile)
	s, _, err := OpenStore(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	id, err := s.createExecution("left", "pipeline", raw(`{}`), "http://127.0.0.1:1/cb", now)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.markRunning(id, now); err != nil {
		t.Fatal(err)
	}
	if err := s.nodeStarted(id, 0, "step-1", raw(`{}`), now); err != nil {
		t.Fatal(err)
	}
	if _, err := s.createExecution("waiting", "echo", raw(`{}`), "", now); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, n, err := OpenStore(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n != 2 {
		t.Fatalf("marked %d, want 2", n)
	}
	r, err := s.Result(context.Background(), "left")
	if err != nil || r.Status != StatusInterrupted || r.Nodes[0].Status != StatusInterrupted || r.Webhook != "failed" || r.FinishedAt == nil {
		t.Fatalf("%v %+v", err, r)
	}
}

// The real binary: kill -9 in the middle of a run, start it again on the
// same DATA_DIR: the run is interrupted (never left running), its finished
// node is kept, and the database opens cleanly and takes new runs. Then a
// SIGTERM during a run: the process stores the run as interrupted itself
// and exits 0.
func TestKill9AndRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := testutil.BuildBinary(t, "outrigger/cmd/xgen-workflow", "xgen-workflow")
	dataDir := t.TempDir()

	p := startProcess(t, bin, dataDir)
	c := &Client{BaseURL: p.url}
	ctx := ctxT(t, 60*time.Second)
	firstChunk := make(chan struct{})
	streamErr := make(chan error, 1)
	go func() {
		var once sync.Once
		streamErr <- c.Stream(ctx, "pipeline", raw(`{"text":"k","delay_ms":100,"nodes":50}`), "killed-run", func(ev StreamEvent) {
			// Kill once step-1 is done and step-2 has started (both stored).
			if ev.Log != nil && ev.Log.Status == "node_started" && ev.Log.Index == 1 {
				once.Do(func() { close(firstChunk) })
			}
		})
	}()
	select {
	case <-firstChunk:
	case err := <-streamErr:
		t.Fatalf("stream ended early: %v\n%s", err, p.out.String())
	case <-ctx.Done():
		t.Fatal("no chunk from the binary")
	}
	p.kill9(t)
	// The client says the stream broke off (what the Workflows panel tells
	// the user), whatever the read error under it was.
	if err := <-streamErr; !errors.Is(err, ErrStreamEnded) {
		t.Fatalf("stream from a killed server: %v, want ErrStreamEnded", err)
	}

	p2 := startProcess(t, bin, dataDir)
	if !strings.Contains(p2.out.String(), "marked_interrupted=1") {
		t.Fatalf("restart did not report the interrupted run:\n%s", p2.out.String())
	}
	c2 := &Client{BaseURL: p2.url}
	r, err := c2.Result(ctx, "killed-run")
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != StatusInterrupted || len(r.Nodes) < 2 || r.FinishedAt == nil {
		t.Fatalf("after restart: %+v", r)
	}
	if r.Nodes[0].Status != StatusCompleted || string(r.Nodes[0].Output) != `{"text":"k|1","step":1,"of":50}` {
		t.Fatalf("first node %+v", r.Nodes[0])
	}
	if last := r.Nodes[len(r.Nodes)-1]; last.Status != StatusInterrupted {
		t.Fatalf("last node %+v, want interrupted", last)
	}
	// The database is sound and usable.
	db := openDB(t, dataDir)
	var check string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check: %q %v", check, err)
	}
	if r, err := c2.Deploy(ctx, RunRequest{WorkflowID: "echo", Input: raw(`{"text":"after"}`), InteractionID: "after"}); err != nil || r.Status != StatusCompleted {
		t.Fatalf("run after restart: %v %+v", err, r)
	}

	if runtime.GOOS == "windows" {
		return // no SIGTERM to send
	}
	leave(t, c2, "pipeline", raw(`{"delay_ms":60000,"nodes":1}`), "termed-run")
	testutil.Eventually(t, 10*time.Second, func() bool {
		s, err := c2.Status(context.Background())
		return err == nil && s.Running == 1
	}, "the run to start")
	if err := p2.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p2.exited:
	case <-time.After(20 * time.Second):
		t.Fatalf("no exit after SIGTERM:\n%s", p2.out.String())
	}
	if p2.waitErr != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", p2.waitErr, p2.out.String())
	}
	p3 := startProcess(t, bin, dataDir)
	if !strings.Contains(p3.out.String(), "marked_interrupted=0") {
		t.Fatalf("a SIGTERM left runs for the next start to mark:\n%s", p3.out.String())
	}
	if r, err := (&Client{BaseURL: p3.url}).Result(ctx, "termed-run"); err != nil || r.Status != StatusInterrupted {
		t.Fatalf("after SIGTERM: %v %+v", err, r)
	}
}

type process struct {
	cmd     *exec.Cmd
	url     string
	out     *testutil.Buffer
	exited  chan struct{}
	waitErr error
}

var listenRE = regexp.MustCompile(`msg=listening addr=(\S+)`)

// startProcess runs the binary on a free port (APP_PORT=0; the address is
// read from its log) and waits until /health answers. t.Cleanup kills it.
func startProcess(t *testing.T, bin, dataDir string, env ...string) *process {
	t.Helper()
	p := &process{out: &testutil.Buffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin)
	p.cmd.Env = append(os.Environ(), "DATA_DIR="+dataDir, "APP_HOST=127.0.0.1", "APP_PORT=0",
		"MAX_CONCURRENT_WORKFLOWS=2", "SHUTDOWN_GRACE=300ms", "EMBEDDING_URL=http://127.0.0.1:1")
	p.cmd.Env = append(p.cmd.Env, env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.waitErr = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			p.cmd.Process.Kill()
			<-p.exited
		}
		t.Logf("xgen-workflow pid %d output:\n%s", p.cmd.Process.Pid, p.out.String())
	})
	testutil.Eventually(t, 30*time.Second, func() bool {
		select {
		case <-p.exited:
			t.Fatalf("exited at start: %v\n%s", p.waitErr, p.out.String())
		default:
		}
		m := listenRE.FindStringSubmatch(p.out.String())
		if m == nil {
			return false
		}
		p.url = "http://" + m[1]
		resp, err := http.Get(p.url + "/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, "the binary to serve /health")
	return p
}

func (p *process) kill9(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil { // SIGKILL on Unix
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		t.Fatal("no exit after kill")
	}
}

// Queued executions start in the order they were submitted.
func TestQueueIsFIFO(t *testing.T) {
	var mu sync.Mutex
	var order []string
	rec := Workflow{
		Info: WorkflowInfo{ID: "rec", Nodes: []NodeInfo{{ID: "rec"}}, InputSchema: raw(`{}`), ExampleInput: raw(`{}`)},
		Plan: func(in json.RawMessage) ([]Node, error) {
			return []Node{{ID: "rec", Run: func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
				var v struct{ N string }
				json.Unmarshal(in, &v)
				mu.Lock()
				order = append(order, v.N)
				mu.Unlock()
				return in, nil
			}}}, nil
		},
	}
	ts := startService(t, func(o *Options) { o.MaxWorkers = 1; o.Workflows = append(Builtin("", nil), rec) })
	m := ts.Manager()
	blocker, err := m.Submit(RunRequest{WorkflowID: "pipeline", Input: raw(`{"delay_ms":60000,"nodes":1}`), InteractionID: "blocker"})
	if err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, func() bool { return m.Status().Running == 1 }, "blocker running")
	var want []string
	var last *Execution
	for i := range 12 {
		n := strconv.Itoa(i)
		want = append(want, n)
		last, err = m.Submit(RunRequest{WorkflowID: "rec", Input: raw(`{"N":"` + n + `"}`), InteractionID: "fifo-" + n})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Cancel(context.Background(), blocker.InteractionID); err != nil {
		t.Fatal(err)
	}
	select {
	case <-last.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("the queue did not drain")
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(order, ",") != strings.Join(want, ",") {
		t.Fatalf("start order %v, want %v", order, want)
	}
}

// A second service opened on a DATA_DIR that a live one serves from (a
// second xgen-workflow started by hand, or before the old one has exited)
// is refused: opening would mark the live one's running executions
// interrupted (and so prunable) and fail their pending webhooks while they
// go on. Once the first has shut down, the folder opens again.
func TestSecondOpenOfALiveDataDirRefused(t *testing.T) {
	release := make(chan struct{})
	ts := startService(t, func(o *Options) { o.Workflows = append(Builtin("", nil), gatedWorkflow("gated", 2, release)) })
	ex, err := ts.Manager().Submit(RunRequest{WorkflowID: "gated", Input: raw(`{"text":"x"}`), InteractionID: "live"})
	if err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, wait, func() bool {
		r, err := ts.Client.Result(context.Background(), "live")
		return err == nil && r.Status == StatusRunning && len(r.Nodes) == 2
	}, "the execution to run its gated second node")

	other, err := Open(context.Background(), Options{DataDir: ts.Dir})
	if err == nil {
		other.Shutdown(ctxT(t, 30*time.Second))
		t.Error("a second Open of a data folder in use succeeded")
	} else if !contains(err.Error(), "in use") {
		t.Errorf("second Open: %v, want an error saying the folder is in use", err)
	}
	if r, err := ts.Client.Result(context.Background(), "live"); err != nil || r.Status != StatusRunning || r.FinishedAt != nil {
		t.Fatalf("the live execution after a second Open: %v %s (finished %v), want still running", err, r.Status, r.FinishedAt)
	}
	close(release)
	<-ex.Done()
	if r := waitResult(t, ts.Client, "live"); r.Status != StatusCompleted {
		t.Fatalf("live: %s %s, want completed", r.Status, r.Error)
	}
	if err := ts.Shutdown(ctxT(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	again, err := Open(context.Background(), Options{DataDir: ts.Dir})
	if err != nil {
		t.Fatalf("Open after the first service stopped: %v", err)
	}
	if err := again.Shutdown(ctxT(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
}

// Options is an API: a negative PruneInterval (which the environment cannot
// give) panicked the pruning goroutine in time.NewTicker and took the
// process down; a negative WriteTimeout set every write's deadline in the
// past, so no stream or /deploy reply got out. Open refuses both, naming
// the field, and leaves nothing open: the folder opens again at once.
func TestOpenRefusesNegativeIntervals(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		field string
		set   func(*Options)
	}{
		{"WriteTimeout", func(o *Options) { o.WriteTimeout = -time.Second }},
		{"PruneInterval", func(o *Options) { o.PruneInterval = -time.Second }},
	} {
		opts := Options{DataDir: dir}
		c.set(&opts)
		svc, err := Open(context.Background(), opts)
		if err == nil {
			svc.Shutdown(ctxT(t, 30*time.Second))
			t.Errorf("Open with a negative %s succeeded", c.field)
			continue
		}
		if !contains(err.Error(), "Options."+c.field) || !contains(err.Error(), "-1s") {
			t.Errorf("Open with a negative %s: %q, want an error naming the field and its value", c.field, err)
		}
	}
	svc, err := Open(context.Background(), Options{DataDir: dir})
	if err != nil {
		t.Fatalf("Open after the refusals: %v", err)
	}
	if err := svc.Shutdown(ctxT(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
}
