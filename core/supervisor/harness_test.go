package supervisor

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"outrigger/core/appdirs"
	"outrigger/core/config"
	"outrigger/core/proc"
	"outrigger/internal/testutil"
)

func TestMain(m *testing.M) {
	proc.RunGuardianIfRequested()
	testutil.RunMain(m)
}

const wait = 30 * time.Second // generous: a busy 2-core CI machine

// fixtureSpec is a sidecar served by the test fixture, with short timeouts
// and no restarts unless a test sets them.
func fixtureSpec(t testing.TB, name string, args ...string) config.Spec {
	return config.Spec{
		Name:           name,
		Binary:         name,
		Args:           args,
		Port:           testutil.FreePort(t),
		Host:           "127.0.0.1",
		AutoStart:      true,
		Health:         []string{"/health", "/docs", "/"},
		StartupTimeout: 20 * time.Second,
		StopTimeout:    3 * time.Second,
		Restart: config.RestartSpec{Policy: "never", InitialBackoff: 500 * time.Millisecond,
			MaxBackoff: 30 * time.Second, Multiplier: 2, Jitter: 0.2, MaxRetries: 10, StableAfter: time.Minute},
		Liveness: config.LivenessSpec{Disabled: true, Period: 10 * time.Second, Timeout: 2 * time.Second,
			FailureThreshold: 3, SuccessThreshold: 1},
	}
}

type harness struct {
	t    testing.TB
	sup  *Supervisor
	home string
	mu   sync.Mutex
	evs  []Event
	pids map[int]bool // every pid we saw, checked for leftovers at the end
}

func newHarness(t testing.TB, opts Options, specs ...config.Spec) *harness {
	t.Helper()
	var names []string
	for _, s := range specs {
		names = append(names, s.Binary)
	}
	home := testutil.TempDir(t)
	if opts.BinDirs == nil {
		opts.BinDirs = []string{testutil.BinDir(t, names...)}
	}
	opts.Config = config.Config{Mode: "standalone", Sidecars: specs, SequentialStart: opts.Config.SequentialStart}
	opts.Paths = appdirs.Paths{Home: home, StateDir: filepath.Join(home, "state"), LogDir: filepath.Join(home, "logs"),
		DataDir: filepath.Join(home, "data")}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	sup, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h := &harness{t: t, sup: sup, home: home, pids: map[int]bool{}}
	ch, cancel := sup.Subscribe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for e := range ch {
			h.mu.Lock()
			h.evs = append(h.evs, e)
			if e.Status.PID > 0 {
				h.pids[e.Status.PID] = true
			}
			h.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		if err := sup.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		cancel()
		<-done
		h.mu.Lock()
		defer h.mu.Unlock()
		for pid := range h.pids {
			if testutil.ProcessAlive(pid) {
				t.Errorf("pid %d still alive after Close", pid)
			}
		}
	})
	return h
}

func (h *harness) track(pid int) {
	h.mu.Lock()
	h.pids[pid] = true
	h.mu.Unlock()
}

func (h *harness) start(name string) {
	h.t.Helper()
	if err := h.sup.Start(context.Background(), name); err != nil {
		h.t.Fatalf("Start %s: %v", name, err)
	}
}

func (h *harness) ready(name string) Status {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := h.sup.WaitReady(ctx, name); err != nil {
		h.t.Fatalf("WaitReady %s: %v", name, err)
	}
	st, _ := h.sup.Status(name)
	return st
}

func (h *harness) waitState(name string, want State) Status {
	h.t.Helper()
	var st Status
	testutil.Eventually(h.t, wait, func() bool {
		st, _ = h.sup.Status(name)
		return st.State == want
	}, "%s to reach %s", name, want)
	return st
}

func (h *harness) stop(name string) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := h.sup.Stop(ctx, name); err != nil {
		h.t.Fatalf("Stop %s: %v", name, err)
	}
}

// events returns the recorded events of one sidecar.
func (h *harness) events(name string) []Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []Event
	for _, e := range h.evs {
		if e.Sidecar == name {
			out = append(out, e)
		}
	}
	return out
}

// waitEvent waits until an event matching f was recorded.
func (h *harness) waitEvent(desc string, f func(Event) bool) Event {
	h.t.Helper()
	var got Event
	testutil.Eventually(h.t, wait, func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, e := range h.evs {
			if f(e) {
				got = e
				return true
			}
		}
		return false
	}, desc)
	return got
}

func getJSON(t testing.TB, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

func post(t testing.TB, url string) {
	t.Helper()
	resp, err := http.Post(url, "text/plain", nil)
	if err != nil {
		t.Logf("POST %s: %v (the process may exit before answering)", url, err)
		return
	}
	resp.Body.Close()
}

func states(evs []Event) []State {
	var out []State
	for _, e := range evs {
		if e.Kind != EventState {
			continue
		}
		if len(out) == 0 || out[len(out)-1] != e.Status.State {
			out = append(out, e.Status.State)
		}
	}
	return out
}

// inOrder reports whether got is a subsequence of life: each state of got
// appears in life after the previous one.
func inOrder(got, life []State) bool {
	i := 0
	for _, st := range got {
		for i < len(life) && life[i] != st {
			i++
		}
		if i == len(life) {
			return false
		}
		i++
	}
	return true
}
