//go:build unix

package control

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"outrigger/core/instance"
	"outrigger/core/supervisor"
	"outrigger/internal/testutil"
)

func TestStatusActionsAndWait(t *testing.T) {
	r := newRig(t, rigOpts{start: true}, fixtureSpec(t, "alpha"), fixtureSpec(t, "beta"))
	code, body := r.call("GET", "/v1/sidecars", "")
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	var list SidecarList
	mustJSON(t, body, &list)
	if len(list.Sidecars) != 2 || list.Sidecars[0].Name != "alpha" || list.Sidecars[0].State != supervisor.Ready || list.Sidecars[0].PID == 0 {
		t.Fatalf("list: %s", body)
	}
	old := list.Sidecars[0].PID

	code, body = r.call("POST", "/v1/sidecars/alpha/restart?wait=ready&timeout=60s", "")
	if code != 200 {
		t.Fatalf("restart: %d %s", code, body)
	}
	var res ActionResult
	mustJSON(t, body, &res)
	if !res.Done || res.Sidecars[0].State != supervisor.Ready || res.Sidecars[0].PID == old || res.Sidecars[0].PID == 0 {
		t.Fatalf("restart answered %s (old pid %d)", body, old)
	}

	// Stop without wait answers once accepted; wait=stopped once gone.
	code, body = r.call("POST", "/v1/sidecars/beta/stop", "")
	if code != 202 {
		t.Fatalf("stop: %d %s", code, body)
	}
	code, body = r.call("POST", "/v1/sidecars/beta/stop?wait=stopped", "")
	if code != 200 || r.status("beta").State != supervisor.Stopped {
		t.Fatalf("stop wait: %d %s", code, body)
	}
	// Start of a running sidecar is a conflict; reset of a ready one too.
	if code, body = r.call("POST", "/v1/sidecars/alpha/start", ""); code != 409 || !strings.Contains(string(body), "already ready") {
		t.Fatalf("start of a ready sidecar: %d %s", code, body)
	}
	if code, _ = r.call("POST", "/v1/sidecars/alpha/reset", ""); code != 409 {
		t.Fatalf("reset of a ready sidecar: %d", code)
	}
	// All at once.
	if code, body = r.call("POST", "/v1/sidecars/start?wait=ready", ""); code != 200 {
		t.Fatalf("start all: %d %s", code, body)
	}
	if r.status("beta").State != supervisor.Ready {
		t.Fatal("beta not ready after start all with wait")
	}
	if code, body = r.call("POST", "/v1/sidecars/stop?wait=stopped", ""); code != 200 {
		t.Fatalf("stop all: %d %s", code, body)
	}
	for _, n := range []string{"alpha", "beta"} {
		if st := r.status(n); st.State != supervisor.Stopped {
			t.Errorf("%s %s after stop all", n, st.State)
		}
	}
}

// A sidecar that gave up is reset and started; wait=ready fails with the
// reason when it cannot get there.
func TestResetAndFailedWait(t *testing.T) {
	bad := fixtureSpec(t, "bad", "-crash-after", "10ms", "-start-delay", "5s")
	bad.Restart.Policy = "always"
	bad.Restart.MaxRetries = 1
	bad.Restart.InitialBackoff = 1
	r := newRig(t, rigOpts{}, bad)
	code, body := r.call("POST", "/v1/sidecars/bad/start?wait=ready", "")
	if code != 503 || !strings.Contains(string(body), `"code":"failed"`) {
		t.Fatalf("start of a crashing sidecar with wait=ready: %d %s", code, body)
	}
	ev := r.subscribe("/v1/events")
	ev.await(t, "bad failed", isState("bad", supervisor.Failed))
	code, body = r.call("POST", "/v1/sidecars/bad/reset", "")
	if code != 202 {
		t.Fatalf("reset of a failed sidecar: %d %s", code, body)
	}
	ev.await(t, "bad starting after reset", isState("bad", supervisor.Starting))
}

func TestVersionShowQuit(t *testing.T) {
	r := newRig(t, rigOpts{}, fixtureSpec(t, "alpha"))
	code, body := r.call("GET", "/v1/version", "")
	var v VersionInfo
	mustJSON(t, body, &v)
	if code != 200 || v.Version != "test" || v.API != 1 {
		t.Fatalf("version: %d %s", code, body)
	}
	if code, body = r.call("POST", "/v1/show", ""); code != 409 || !strings.Contains(string(body), "headless") {
		t.Fatalf("show without a window: %d %s", code, body)
	}
	if code, _ = r.call("POST", "/v1/quit", ""); code != 202 || r.quits.Load() != 1 {
		t.Fatalf("quit: %d, %d quit calls", code, r.quits.Load())
	}
}

func TestModeSwitch(t *testing.T) {
	r := newRig(t, rigOpts{}, fixtureSpec(t, "alpha"), fixtureSpec(t, "beta"))
	code, body := r.call("PUT", "/v1/mode?wait=done", `{"mode":"service","service":"beta"}`)
	if code != 200 {
		t.Fatalf("service: %d %s", code, body)
	}
	var ms ModeState
	mustJSON(t, body, &ms)
	if ms.Kind != "service" || *ms.ServiceName != "beta" || ms.ServiceURL == nil {
		t.Fatalf("mode after switch: %s", body)
	}
	if r.status("beta").State != supervisor.Ready {
		t.Fatal("beta not ready in service mode")
	}
	if code, body = r.call("PUT", "/v1/mode?wait=done", `{"mode":"standalone"}`); code != 200 {
		t.Fatalf("standalone: %d %s", code, body)
	}
	if st := r.status("beta"); st.State != supervisor.Stopped {
		t.Fatalf("beta %s in standalone", st.State)
	}
	code, body = r.call("GET", "/v1/mode", "")
	if code != 200 || !strings.Contains(string(body), `"mode":"standalone"`) {
		t.Fatalf("GET mode: %d %s", code, body)
	}
}

func TestLogsTailAndFollow(t *testing.T) {
	r := newRig(t, rigOpts{start: true}, fixtureSpec(t, "talky", "-lines-per-sec", "50", "-stderr-line", "to stderr"))
	ring := r.sup.Logs("talky")
	testutil.Eventually(t, wait, func() bool { return ring.Last() > 5 }, "five lines in the ring")
	code, body := r.call("GET", "/v1/sidecars/talky/logs?tail=3", "")
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	lines := strings.Split(strings.TrimSpace(string(body)), "\n")
	if len(lines) != 3 {
		t.Fatalf("tail=3 gave %d lines: %s", len(lines), body)
	}
	code, body = r.call("GET", "/v1/sidecars/talky/logs?tail=1000&stream=stderr", "")
	if code != 200 || !strings.Contains(string(body), `"text":"to stderr"`) || strings.Contains(string(body), `"stream":"stdout"`) {
		t.Fatalf("stream=stderr: %d %s", code, body)
	}
	// follow: a line appended after the request started arrives.
	req, _ := http.NewRequest("GET", "http://localhost/v1/sidecars/talky/logs?tail=0&follow=1", nil)
	resp, err := r.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	start := ring.Last()
	dec := json.NewDecoder(resp.Body)
	var l LogLine
	if err := dec.Decode(&l); err != nil {
		t.Fatal(err)
	}
	if l.Seq <= start-1 || !strings.HasPrefix(l.Text, "line ") {
		t.Fatalf("first followed line %+v, ring was at %d", l, start)
	}
}

// Malformed requests get 4xx with a JSON error and change nothing.
func TestMalformedRequestsChangeNothing(t *testing.T) {
	r := newRig(t, rigOpts{start: true}, fixtureSpec(t, "alpha"))
	before := r.status("alpha")
	huge := strings.Repeat("x", 5<<20)
	big := strings.Repeat("y", 60<<10)
	for _, tc := range []struct {
		method, path, body string
		want               int
		code               string
	}{
		{"PUT", "/v1/mode", `{"mode":`, 400, CodeBadRequest},
		{"PUT", "/v1/mode", `{"mode":"standalone"} {"mode":"service"}`, 400, CodeBadRequest},
		{"PUT", "/v1/mode", `{"mode":"standalone","extra":1}`, 400, CodeBadRequest},
		{"PUT", "/v1/mode", `{"mode":"nonsense"}`, 400, CodeBadRequest},
		{"PUT", "/v1/mode", `{"mode":"` + big + `"}`, 400, CodeBadRequest},
		{"PUT", "/v1/mode", `{"mode":"` + huge + `"}`, 413, CodeTooLarge},
		{"PUT", "/v1/mode", `{"mode":"service","service":"nope"}`, 404, CodeNotFound},
		{"PUT", "/v1/mode", `{"mode":"connected","url":"ftp://x"}`, 400, CodeBadRequest},
		{"PUT", "/v1/mode?wait=maybe", `{"mode":"standalone"}`, 400, CodeBadRequest},
		{"POST", "/v1/sidecars/nope/stop", "", 404, CodeNotFound},
		{"POST", "/v1/sidecars/alpha/explode", "", 404, CodeNotFound},
		{"POST", "/v1/sidecars/alpha/stop?wait=ready", "", 400, CodeBadRequest},
		{"POST", "/v1/sidecars/alpha/stop?wait=forever", "", 400, CodeBadRequest},
		{"POST", "/v1/sidecars/alpha/restart?wait=ready&timeout=-1s", "", 400, CodeBadRequest},
		{"POST", "/v1/sidecars/alpha/restart?wait=ready&timeout=1y", "", 400, CodeBadRequest},
		{"POST", "/v1/sidecars/alpha/stop", `{"now":true}`, 400, CodeBadRequest},
		{"POST", "/v1/sidecars/alpha/stop", huge, 413, CodeTooLarge},
		{"POST", "/v1/sidecars/stop", `[1,2,3]`, 400, CodeBadRequest},
		{"POST", "/v1/sidecars/restart", "", 404, CodeNotFound},
		{"POST", "/v1/quit", `"please"`, 400, CodeBadRequest},
		{"GET", "/v1/sidecars/nope", "", 404, CodeNotFound},
		{"GET", "/v1/sidecars/alpha/logs?tail=-1", "", 400, CodeBadRequest},
		{"GET", "/v1/sidecars/alpha/logs?stream=both", "", 400, CodeBadRequest},
		{"GET", "/v1/sidecars/alpha/logs?follow=maybe", "", 400, CodeBadRequest},
		{"DELETE", "/v1/mode", "", 405, CodeMethod},
		{"GET", "/v1/quit", "", 405, CodeMethod},
		{"GET", "/v2/sidecars", "", 404, CodeNotFound},
	} {
		code, body := r.call(tc.method, tc.path, tc.body)
		var eb ErrorBody
		if err := json.Unmarshal(body, &eb); err != nil || code != tc.want || eb.Code != tc.code || eb.Error == "" {
			t.Errorf("%s %s (%d-byte body): %d %.200s, want %d %s", tc.method, clip(tc.path), len(tc.body), code, body, tc.want, tc.code)
		}
		if len(body) > 1000 {
			t.Errorf("%s %s: a %d-byte error answer: a client's value must not be copied whole", tc.method, clip(tc.path), len(body))
		}
	}
	if r.quits.Load() != 0 {
		t.Error("a refused quit quit")
	}
	after := r.status("alpha")
	if after.State != supervisor.Ready || after.PID != before.PID || after.Restarts != before.Restarts {
		t.Errorf("alpha changed: %s pid %d → %s pid %d", before.State, before.PID, after.State, after.PID)
	}
	if m := r.modes.Current(); m.Kind != "standalone" {
		t.Errorf("mode changed to %s", m)
	}
	// The unknown-name answer lists the known ones.
	_, body := r.call("GET", "/v1/sidecars/nope", "")
	if !strings.Contains(string(body), `known: \"alpha\"`) {
		t.Errorf("unknown sidecar answer does not list the known ones: %s", body)
	}
}

// The socket answers requests with a forged Host or a foreign Origin with
// 403, like every local server.
func TestSocketGuard(t *testing.T) {
	r := newRig(t, rigOpts{}, fixtureSpec(t, "alpha"))
	if code, _ := r.call("GET", "/v1/sidecars", "", "Origin", "http://evil.example"); code != 403 {
		t.Errorf("foreign Origin: %d, want 403", code)
	}
	if code, _ := r.call("POST", "/v1/quit", "x", "Content-Type", "text/plain"); code != 415 || r.quits.Load() != 0 {
		t.Errorf("text/plain POST: %d, quits %d", code, r.quits.Load())
	}
}

// Twenty idle connections do not hold up a request (issue 17.9: the old
// one-line protocol served one connection at a time with a 2 s timeout).
func TestIdleConnectionsDelayNobody(t *testing.T) {
	r := newRig(t, rigOpts{}, fixtureSpec(t, "alpha"))
	var idle []net.Conn
	for range 20 {
		c, err := instance.Dial(context.Background(), r.inst.Path())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte("GET /v1/version HTTP/1.1\r\n")) // half a request, never finished
		idle = append(idle, c)
	}
	if code, body := r.call("POST", "/v1/show", ""); code != 409 {
		t.Fatalf("show: %d %s", code, body)
	}
	if code, _ := r.call("GET", "/v1/sidecars", ""); code != 200 {
		t.Fatalf("list: %d", code)
	}
	// Answered while every idle connection is still held open by the
	// server: it did not have to time them out first.
	for i, c := range idle {
		c.SetReadDeadline(time.Now().Add(time.Millisecond))
		var b [1]byte
		if _, err := c.Read(b[:]); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("idle connection %d: %v, want it still open", i, err)
		}
	}
}
