package modes

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"outrigger/core/appdirs"
	"outrigger/core/config"
	"outrigger/core/proc"
	"outrigger/core/supervisor"
	"outrigger/core/watchdog"
	"outrigger/internal/testutil"
)

func TestMain(m *testing.M) {
	proc.RunGuardianIfRequested()
	testutil.RunMain(m)
}

const wait = 30 * time.Second // generous: a busy 2-core machine under -race

// fixtureSpec is a sidecar served by the test fixture: short timeouts, no
// liveness probing, no restarts unless a test sets a policy.
func fixtureSpec(t testing.TB, name string, args ...string) config.Spec {
	s := config.DefaultSpec(name, testutil.FreePort(t))
	s.Args = args
	s.StartupTimeout = 20 * time.Second
	s.StopTimeout = 3 * time.Second
	s.Restart.Policy = config.PolicyNever
	s.Liveness.Disabled = true
	return s
}

func testLogger() *slog.Logger {
	if os.Getenv("MODES_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// rig is a real supervisor over fixture processes with a controller on top.
type rig struct {
	t       *testing.T
	home    string
	sup     *supervisor.Supervisor
	c       *Controller
	rec     *recorder
	saved   *saves
	cancel  context.CancelFunc
	runDone chan struct{}
	stopped bool
	marks   int
}

type rigOpts struct {
	initial  Mode             // zero: Standalone
	cfg      *config.Config   // nil: built from the specs
	persist  func(Mode) error // nil: recorded in rig.saved
	interval time.Duration    // gateway interval; zero: 50ms
	noRun    bool             // do not start Run yet (see rig.run)
	// authorize is Options.Authorize.
	authorize func(*http.Request) error
}

func newRig(t *testing.T, o rigOpts, specs ...config.Spec) *rig {
	t.Helper()
	cfg := config.Config{Mode: config.ModeStandalone, Sidecars: specs}
	if o.cfg != nil {
		cfg = *o.cfg
	}
	var names []string
	for _, s := range cfg.Sidecars {
		names = append(names, s.BinaryName())
	}
	home := t.TempDir()
	sup, err := supervisor.New(supervisor.Options{
		Config:  cfg,
		Paths:   appdirs.Paths{Home: home, StateDir: filepath.Join(home, "state"), LogDir: filepath.Join(home, "logs"), DataDir: filepath.Join(home, "data")},
		BinDirs: []string{testutil.BinDir(t, names...)},
		Logger:  testLogger(),
		Policy:  watchdog.Factory,
	})
	if err != nil {
		t.Fatalf("supervisor.New: %v", err)
	}
	r := &rig{t: t, home: home, sup: sup, saved: &saves{}}

	// Every pid the supervisor ever reports must be gone at the end.
	var pmu sync.Mutex
	pids := map[int]bool{}
	sch, sunsub := sup.Subscribe()
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		for e := range sch {
			if e.Status.PID > 0 {
				pmu.Lock()
				pids[e.Status.PID] = true
				pmu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		if err := sup.Close(); err != nil {
			t.Errorf("supervisor Close: %v", err)
		}
		sunsub()
		<-collected
		pmu.Lock()
		defer pmu.Unlock()
		for pid := range pids {
			if testutil.ProcessAlive(pid) {
				t.Errorf("pid %d still alive after Close", pid)
			}
		}
	})

	persist := o.persist
	if persist == nil {
		persist = r.saved.add
	}
	interval := o.interval
	if interval == 0 {
		interval = 50 * time.Millisecond
	}
	initial := o.initial
	if initial.Kind == "" {
		initial = StandaloneMode()
	}
	service := cfg.Service
	if service == "" && len(cfg.Sidecars) > 0 {
		service = cfg.Sidecars[0].Name
	}
	r.c = New(Options{Sup: sup, Service: service, Persist: persist, Logger: testLogger(), GatewayInterval: interval,
		Authorize: o.authorize}, initial)
	r.rec = record(r.c)
	r.rec.waitFor(t, "the initial ModeChanged", func(e Event) bool { return e.Kind == ModeChanged })
	if !o.noRun {
		r.run()
	}
	t.Cleanup(r.stop) // runs before the supervisor's Close (cleanups run last-in first-out)
	return r
}

func (r *rig) run() {
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.runDone = make(chan struct{})
	go func() {
		defer close(r.runDone)
		r.c.Run(ctx)
	}()
}

// stop ends Run and checks that it returns and closes the subscriptions.
func (r *rig) stop() {
	if r.cancel == nil || r.stopped {
		return
	}
	r.stopped = true
	r.cancel()
	timeout := time.NewTimer(wait)
	defer timeout.Stop()
	select {
	case <-r.runDone:
	case <-timeout.C:
		r.t.Errorf("Run did not return after its context ended")
		return
	}
	select {
	case <-r.rec.done:
	case <-timeout.C:
		r.t.Errorf("the subscription did not close when Run returned")
	}
}

// done waits for a transition.
func (r *rig) done(tr *Transition) error {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*wait)
	defer cancel()
	err := tr.Wait(ctx)
	if ctx.Err() != nil {
		r.t.Fatalf("transition to %s did not finish within %s", tr.Target(), 2*wait)
	}
	return err
}

func (r *rig) ok(tr *Transition) {
	r.t.Helper()
	if err := r.done(tr); err != nil {
		r.t.Fatalf("transition to %s: %v", tr.Target(), err)
	}
}

func (r *rig) status(name string) supervisor.Status {
	st, ok := r.sup.Status(name)
	if !ok {
		r.t.Fatalf("no sidecar %s", name)
	}
	return st
}

// running lists the sidecars with a process or a pending restart.
func (r *rig) running() []string {
	var out []string
	for _, st := range r.sup.Snapshot() {
		if st.State.HasProcess() || st.State == supervisor.Backoff {
			out = append(out, st.Name+"="+string(st.State))
		}
	}
	return out
}

func (r *rig) wantMode(want Mode) {
	r.t.Helper()
	if got := r.c.Current(); !got.Equal(want) {
		r.t.Fatalf("mode = %s, want %s", got, want)
	}
}

// wantService checks Service mode on name with its sidecar Ready and the
// mode's URL its URL.
func (r *rig) wantService(name string) {
	r.t.Helper()
	st := r.status(name)
	if st.State != supervisor.Ready {
		r.t.Fatalf("%s is %s, want ready", name, st.State)
	}
	r.wantMode(ServiceMode(name, st.URL))
}

func (r *rig) wantNoneRunning() {
	r.t.Helper()
	if run := r.running(); len(run) > 0 {
		r.t.Fatalf("still running: %v", run)
	}
}

// saves records what Persist was asked to remember.
type saves struct {
	mu    sync.Mutex
	modes []Mode
}

func (s *saves) add(m Mode) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.modes = append(s.modes, m)
	return nil
}

func (s *saves) list() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, m := range s.modes {
		out = append(out, m.String())
	}
	return out
}

// recorder keeps every event of one subscription.
type recorder struct {
	mu   sync.Mutex
	evs  []Event
	done chan struct{}
}

func record(c *Controller) *recorder {
	r := &recorder{done: make(chan struct{})}
	ch, _ := c.Subscribe() // ends when Run returns
	go func() {
		defer close(r.done)
		for e := range ch {
			r.mu.Lock()
			r.evs = append(r.evs, e)
			r.mu.Unlock()
		}
	}()
	return r
}

func (r *recorder) all() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.evs)
}

func (r *recorder) count(k EventKind) int {
	n := 0
	for _, e := range r.all() {
		if e.Kind == k {
			n++
		}
	}
	return n
}

// waitFor waits until an event matching f has been recorded and returns
// the first such.
func (r *recorder) waitFor(t *testing.T, desc string, f func(Event) bool) Event {
	t.Helper()
	var got Event
	testutil.Eventually(t, wait, func() bool {
		for _, e := range r.all() {
			if f(e) {
				got = e
				return true
			}
		}
		return false
	}, "event: %s; got %s", desc, lazy(r.summary))
	return got
}

// mark returns the number of events so far, once every event sent before
// the call has been received (a marker event is sent through the
// controller and awaited); since returns those after it.
func (r *rig) mark() int {
	r.t.Helper()
	r.marks++
	msg := fmt.Sprintf("mark %d", r.marks)
	r.c.emit(Event{Kind: testMark, Message: msg})
	var n int
	testutil.Eventually(r.t, wait, func() bool {
		for i, e := range r.rec.all() {
			if e.Kind == testMark && e.Message == msg {
				n = i + 1
				return true
			}
		}
		return false
	}, "marker event")
	return n
}

const testMark EventKind = "testMark"

func (r *recorder) since(mark int) []Event {
	all := r.all()
	if mark > len(all) {
		return nil
	}
	return all[mark:]
}

// waitKinds waits until the events after mark, restricted to the kinds in
// want, are exactly want (in order).
func (r *recorder) waitKinds(t *testing.T, mark int, want ...EventKind) []Event {
	t.Helper()
	keep := map[EventKind]bool{}
	for _, k := range want {
		keep[k] = true
	}
	var got []EventKind
	var evs []Event
	testutil.Eventually(t, wait, func() bool {
		got, evs = nil, nil
		for _, e := range r.since(mark) {
			if keep[e.Kind] {
				got = append(got, e.Kind)
				evs = append(evs, e)
			}
		}
		return slices.Equal(got, want)
	}, "events %v; got %v", want, lazy(func() string { return fmt.Sprint(got) }))
	return evs
}

func (r *recorder) summary() string {
	var b strings.Builder
	for _, e := range r.all() {
		fmt.Fprintf(&b, "\n  %s [%s] %s", e.Kind, e.Mode, e.Message)
		if e.Err != nil {
			fmt.Fprintf(&b, " err=%v", e.Err)
		}
	}
	return b.String()
}

type lazy func() string

func (l lazy) String() string { return l() }

// gatewayServer is a fake remote gateway on 127.0.0.1 that can go down
// (its listener closed: connection refused) and come up again on the same
// address.
type gatewayServer struct {
	t    *testing.T
	addr string
	hits atomic.Int64
	srv  *httptest.Server
	// token, when set before up, is the bearer token /health requires
	// (401 without it), as a gateway behind an authenticating ingress.
	token string
}

func newGateway(t *testing.T) *gatewayServer {
	g := &gatewayServer{t: t}
	g.up()
	t.Cleanup(g.down)
	return g
}

func (g *gatewayServer) URL() string { return "http://" + g.addr }

func (g *gatewayServer) up() {
	g.t.Helper()
	addr := g.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var ln net.Listener
	var err error
	testutil.Eventually(g.t, 10*time.Second, func() bool {
		ln, err = net.Listen("tcp", addr)
		return err == nil
	}, "listen on %s", addr)
	g.addr = ln.Addr().String()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.hits.Add(1)
		if r.URL.Path != "/health" {
			http.NotFound(w, r)
			return
		}
		if g.token != "" && r.Header.Get("Authorization") != "Bearer "+g.token {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		fmt.Fprintln(w, `{"status":"ok"}`)
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	g.srv = srv
}

func (g *gatewayServer) down() {
	if g.srv != nil {
		g.srv.CloseClientConnections()
		g.srv.Close()
		g.srv = nil
	}
}

func post(t *testing.T, url string) {
	t.Helper()
	resp, err := http.Post(url, "text/plain", nil)
	if err != nil {
		t.Logf("POST %s: %v (the process may exit before answering)", url, err)
		return
	}
	resp.Body.Close()
}

// next receives the next event of a subscription, failing the test (rather
// than hanging until the test binary's timeout) if none comes within wait
// or the subscription closes.
func next(t *testing.T, ch <-chan Event) Event {
	t.Helper()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case e, ok := <-ch:
		if !ok {
			t.Fatalf("the subscription closed while an event was awaited")
		}
		return e
	case <-timer.C:
		t.Fatalf("no event within %s", wait)
	}
	return Event{}
}

// testutil_Eventually is testutil.Eventually with the suite's timeout.
func testutil_Eventually(t *testing.T, cond func() bool, desc string) {
	t.Helper()
	testutil.Eventually(t, wait, cond, desc)
}
