//go:build unix

package control

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"outrigger/core/appdirs"
	"outrigger/core/config"
	"outrigger/core/diagnostics"
	"outrigger/core/instance"
	"outrigger/core/modes"
	"outrigger/core/proc"
	"outrigger/core/supervisor"
	"outrigger/core/watchdog"
	"outrigger/internal/testutil"
)

func TestMain(m *testing.M) {
	proc.RunGuardianIfRequested()
	testutil.RunMain(m)
}

const wait = 60 * time.Second // generous: a busy 2-core machine under -race

func fixtureSpec(t testing.TB, name string, args ...string) config.Spec {
	s := config.DefaultSpec(name, testutil.FreePort(t))
	s.Binary = "fixture"
	s.Args = args
	s.StartupTimeout = 20 * time.Second
	s.StopTimeout = 3 * time.Second
	s.Restart.Policy = config.PolicyNever
	s.Liveness.Disabled = true
	return s
}

func testLogger() *slog.Logger {
	if os.Getenv("CONTROL_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// rig is a real supervisor over fixture processes, a mode controller, and
// the API served on a real instance socket.
type rig struct {
	t      testing.TB
	sup    *supervisor.Supervisor
	modes  *modes.Controller
	srv    *Server
	inst   *instance.Instance
	home   string
	quits  atomic.Int32
	client *http.Client
}

type rigOpts struct {
	cfg   *config.Config // nil: standalone over specs
	start bool           // start every sidecar and wait for Ready
	// smallBuffers gives every accepted connection the smallest send
	// buffer the kernel allows, so a client that does not read stalls its
	// stream after a few events rather than after ~200 KB.
	smallBuffers bool
	// writeStall, when set, replaces the server's writeStall: a test whose
	// client stalls for as long as a busy machine takes to run it must not
	// see that client dropped after the default 30 s.
	writeStall time.Duration
	// log, when set, receives the server's log (debug and up).
	log io.Writer
	// appLog is the app's own log file the diagnostics report includes.
	appLog string
}

type smallBufListener struct{ net.Listener }

func (l smallBufListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if uc, ok := c.(*net.UnixConn); ok {
		uc.SetWriteBuffer(1) // the kernel rounds up to its minimum
	}
	return c, err
}

func newRig(t testing.TB, o rigOpts, specs ...config.Spec) *rig {
	t.Helper()
	cfg := config.Config{Mode: config.ModeStandalone, Service: config.DefaultService, Sidecars: specs}
	if o.cfg != nil {
		cfg = *o.cfg
	}
	home := t.TempDir()
	// A short runtime folder: socket paths are limited to ~104 bytes.
	run, err := os.MkdirTemp("", "oc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(run) })
	paths := appdirs.Paths{Home: home, ConfigFile: filepath.Join(home, "outrigger.toml"), StateDir: filepath.Join(home, "state"),
		LogDir: filepath.Join(home, "logs"), DataDir: filepath.Join(home, "data"), RuntimeDir: filepath.Join(run, "r")}
	if err := paths.Ensure(); err != nil {
		t.Fatal(err)
	}
	sup, err := supervisor.New(supervisor.Options{Config: cfg, Paths: paths, Logger: testLogger(),
		BinDirs: []string{testutil.BinDir(t, "fixture")}, Policy: watchdog.Factory})
	if err != nil {
		t.Fatal(err)
	}
	initial, err := modes.FromConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mc := modes.New(modes.Options{Sup: sup, Service: cfg.Service, Logger: testLogger()}, initial)
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan struct{})
	go func() { defer close(runDone); mc.Run(ctx) }()

	r := &rig{t: t, sup: sup, modes: mc, home: home}
	inst, err := instance.Acquire(paths.RuntimeDir)
	if err != nil {
		t.Fatal(err)
	}
	r.inst = inst
	srvLog := testLogger()
	if o.log != nil {
		srvLog = slog.New(slog.NewTextHandler(o.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	r.srv = New(Deps{Sup: sup, Modes: mc, Version: "test", Logger: srvLog,
		Quit: func() { r.quits.Add(1) },
		Diagnostics: func() diagnostics.Options {
			return diagnostics.Options{Config: cfg, LogDir: paths.LogDir, AppLog: o.appLog, Versions: diagnostics.Versions{App: "test"}}
		}})
	if o.writeStall > 0 {
		r.srv.stall = o.writeStall
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		ln := inst.Listener()
		if o.smallBuffers {
			ln = smallBufListener{ln}
		}
		if err := r.srv.Serve(ln); err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	r.client = unixClient(inst.Path())
	t.Cleanup(func() {
		r.client.CloseIdleConnections()
		if err := r.srv.Close(); err != nil {
			t.Errorf("server Close: %v", err)
		}
		<-served
		inst.Close()
		sup.DisableRestarts()
		cancel()
		<-runDone
		if err := sup.Close(); err != nil {
			t.Errorf("supervisor Close: %v", err)
		}
	})
	if o.start {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if err := sup.StartGroup(ctx, sup.Names()); err != nil {
			t.Fatalf("StartGroup: %v", err)
		}
	}
	return r
}

func unixClient(sock string) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return instance.Dial(ctx, sock)
		},
		MaxIdleConnsPerHost: 200,
	}}
}

// call sends a request over the socket and returns status and body.
func (r *rig) call(method, path, body string, hdr ...string) (int, []byte) {
	r.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, "http://localhost"+path, rd)
	if err != nil {
		r.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := r.client.Do(req)
	if err != nil {
		r.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		r.t.Fatalf("%s %s: reading: %v", method, path, err)
	}
	return resp.StatusCode, data
}

func (r *rig) status(name string) supervisor.Status {
	r.t.Helper()
	code, body := r.call("GET", "/v1/sidecars/"+name, "")
	if code != 200 {
		r.t.Fatalf("GET %s: %d %s", name, code, body)
	}
	var st supervisor.Status
	if err := json.Unmarshal(body, &st); err != nil {
		r.t.Fatal(err)
	}
	return st
}

// sse is one reader of GET /v1/events.
type sse struct {
	resp   *http.Response
	frames chan Event
	done   chan struct{}
}

func (r *rig) subscribe(path string, hdr ...string) *sse {
	r.t.Helper()
	req, err := http.NewRequest("GET", "http://localhost"+path, nil)
	if err != nil {
		r.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := r.client.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		r.t.Fatalf("GET %s: %d", path, resp.StatusCode)
	}
	s := &sse{resp: resp, frames: make(chan Event, 4096), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		defer close(s.frames)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			data, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok {
				continue
			}
			var e Event
			if json.Unmarshal([]byte(data), &e) == nil {
				s.frames <- e
			}
		}
	}()
	r.t.Cleanup(s.close)
	return s
}

func (s *sse) close() {
	s.resp.Body.Close()
	<-s.done
}

// await reads events until match says so, failing after wait.
func (s *sse) await(t testing.TB, what string, match func(Event) bool) Event {
	t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case e, ok := <-s.frames:
			if !ok {
				t.Fatalf("stream ended before %s", what)
			}
			if match(e) {
				return e
			}
		case <-deadline:
			t.Fatalf("no %s within %v", what, wait)
		}
	}
}

func isState(name string, state supervisor.State) func(Event) bool {
	return func(e Event) bool {
		return e.Sidecar == name && e.Status != nil && e.Status.State == state
	}
}

func mustJSON(t testing.TB, data []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%v: %s", err, data)
	}
}
