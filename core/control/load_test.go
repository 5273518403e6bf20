//go:build unix

package control

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"outrigger/core/instance"
	"outrigger/core/supervisor"
)

// watcher reads an event stream as fast as it comes and keeps the newest
// status per sidecar.
type watcher struct {
	mu      sync.Mutex
	last    map[string]supervisor.Status
	frames  int
	changed chan struct{}
	done    chan struct{}
	body    io.Closer
}

func (r *rig) watch() *watcher {
	r.t.Helper()
	resp, err := r.client.Get("http://localhost/v1/events")
	if err != nil {
		r.t.Fatal(err)
	}
	w := &watcher{last: map[string]supervisor.Status{}, changed: make(chan struct{}, 1), done: make(chan struct{}), body: resp.Body}
	go func() {
		defer close(w.done)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			data, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok {
				continue
			}
			var e Event
			if json.Unmarshal([]byte(data), &e) != nil || e.Status == nil {
				continue
			}
			w.mu.Lock()
			w.last[e.Sidecar] = *e.Status
			w.frames++
			w.mu.Unlock()
			select {
			case w.changed <- struct{}{}:
			default:
			}
		}
	}()
	r.t.Cleanup(func() { resp.Body.Close(); <-w.done })
	return w
}

func (w *watcher) await(t *testing.T, what string, cond func(map[string]supervisor.Status) bool) {
	t.Helper()
	deadline := time.After(wait)
	for {
		w.mu.Lock()
		ok := cond(w.last)
		w.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-w.changed:
		case <-w.done:
			t.Fatalf("stream ended before %s", what)
		case <-deadline:
			t.Fatalf("no %s within %v", what, wait)
		}
	}
}

// One client opens the event stream and never reads it while a sidecar
// crash-loops as fast as it can (hundreds of events a second) and 100
// other clients stream events and call the API. The supervisor keeps
// going, every other client sees the final state, and the stalled client,
// once it reads, has been given the newest state instead of a backlog.
func TestStalledStreamDelaysNobody(t *testing.T) {
	const restarts = 60
	loop := fixtureSpec(t, "loop", "-crash-after", "5ms", "-start-delay", "1s")
	loop.Restart.Policy = "always"
	loop.Restart.MaxRetries = -1
	loop.Restart.InitialBackoff = time.Millisecond
	loop.Restart.MaxBackoff = 2 * time.Millisecond
	loop.Restart.Jitter = 0
	// The stalled client must outlive the whole run, however long a busy
	// machine takes (44 s was seen): it is dropped only after writeStall.
	r := newRig(t, rigOpts{smallBuffers: true, writeStall: 10 * time.Minute}, loop, fixtureSpec(t, "calm"))
	if code, body := r.call("POST", "/v1/sidecars/calm/start?wait=ready", ""); code != 200 {
		t.Fatalf("calm: %d %s", code, body)
	}

	// The stalled client: a raw connection that asks and never reads.
	stalled, err := instance.Dial(context.Background(), r.inst.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	if uc, ok := stalled.(*net.UnixConn); ok {
		uc.SetReadBuffer(4096)
	}
	fmt.Fprint(stalled, "GET /v1/events HTTP/1.1\r\nHost: localhost\r\n\r\n")
	r.srv.hub.mu.Lock()
	seqAtStall := r.srv.hub.seq
	r.srv.hub.mu.Unlock()

	watchers := make([]*watcher, 100)
	for i := range watchers {
		watchers[i] = r.watch()
	}

	// The supervisor's own subscriber sees the crash loop advance.
	supEvents, unsub := r.sup.Subscribe()
	defer unsub()
	if code, body := r.call("POST", "/v1/sidecars/loop/start", ""); code != 202 {
		t.Fatalf("loop: %d %s", code, body)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				resp, err := r.client.Get("http://localhost/v1/sidecars")
				if err != nil {
					errs <- err
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					errs <- fmt.Errorf("GET /v1/sidecars: %d", resp.StatusCode)
					return
				}
			}
		}()
	}
	deadline := time.After(2 * wait)
	for reached := false; !reached; {
		select {
		case e := <-supEvents:
			reached = e.Sidecar == "loop" && e.Status.Restarts >= restarts
		case <-deadline:
			st, _ := r.sup.Status("loop")
			t.Fatalf("the crash loop stalled at %d restarts (want %d)", st.Restarts, restarts)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	code, body := r.call("POST", "/v1/sidecars/loop/stop?wait=stopped", "")
	if code != 200 {
		t.Fatalf("stop loop: %d %s", code, body)
	}
	final, _ := r.sup.Status("loop")
	for i, w := range watchers {
		w.await(t, fmt.Sprintf("watcher %d seeing loop stopped", i), func(m map[string]supervisor.Status) bool {
			s := m["loop"]
			return s.State == supervisor.Stopped && s.Restarts == final.Restarts
		})
	}
	r.srv.hub.mu.Lock()
	published := int(r.srv.hub.seq - seqAtStall)
	r.srv.hub.mu.Unlock()

	// Now read the stalled stream to its newest state.
	stalled.SetReadDeadline(time.Now().Add(wait))
	resp, err := http.ReadResponse(bufio.NewReader(stalled), nil)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	got := 0
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		got++
		var e Event
		if json.Unmarshal([]byte(data), &e) == nil && e.Sidecar == "loop" && e.Status != nil &&
			e.Status.State == supervisor.Stopped && e.Status.Restarts == final.Restarts {
			break
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("the stalled stream, read at last: %v after %d frames", err, got)
	}
	t.Logf("%d events published while stalled; the stalled client got %d frames, ending with the newest state", published, got)
	if got >= published {
		t.Fatalf("the stalled client got %d frames for %d events: it was never stalled, the test proves nothing", got, published)
	}
}
