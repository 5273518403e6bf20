//go:build unix

package supervisor

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"outrigger/internal/testutil"
)

// A sidecar whose environment names another's address (${url:x},
// ${port:x}) is restarted with the new value when that address moves:
// after a port preflight fallback, and after a configured port change.
func TestAddressChangeRestartsWhoUsesIt(t *testing.T) {
	x := fixtureSpec(t, "x")
	y := fixtureSpec(t, "y")
	y.Env = map[string]string{"X_URL": "${url:x}/api", "X_PORT": "${port:x}", "PLAIN": "kept"}
	var logs testutil.Buffer
	h := newHarness(t, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))}, x, y)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()

	h.start("x")
	h.ready("x")
	h.start("y")
	h.ready("y")
	wantEnv := func(step string) Status {
		t.Helper()
		xs, _ := h.sup.Status("x")
		var env map[string]string
		testutil.Eventually(t, wait, func() bool {
			ys, _ := h.sup.Status("y")
			if ys.State != Ready {
				return false
			}
			env = nil
			if err := tryJSON(ys.URL+"/env", &env); err != nil {
				return false // restarted meanwhile
			}
			return env["X_URL"] == xs.URL+"/api" && env["X_PORT"] == strconv.Itoa(xs.Port)
		}, "%s: y ready with X_URL=%s/api and X_PORT=%d; env has %q, %q", step, xs.URL, xs.Port,
			lazyString(func() string { return env["X_URL"] }), lazyString(func() string { return env["X_PORT"] }))
		if env["PLAIN"] != "kept" {
			t.Errorf("%s: PLAIN = %q", step, env["PLAIN"])
		}
		ys, _ := h.sup.Status("y")
		return ys
	}
	y0 := wantEnv("at start")

	// 1. x's port is taken while it is stopped: the preflight moves it.
	h.stop("x")
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(x.Port))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	h.start("x")
	if xs := h.ready("x"); xs.Port == x.Port {
		t.Fatalf("x is on its busy port %d", xs.Port)
	}
	y1 := wantEnv("after the preflight moved x")
	if y1.PID == y0.PID {
		t.Fatalf("y was not restarted (pid %d)", y1.PID)
	}
	h.waitEvent("y stopping because x moved", func(e Event) bool {
		return e.Sidecar == "y" && e.Status.State == Stopping && strings.Contains(e.Status.Reason, "X_URL") &&
			strings.Contains(e.Status.Reason, "moved")
	})

	// 2. The user moves x to another port; it restarts there.
	moved, _ := h.sup.Spec("x")
	moved.Port = testutil.FreePort(t)
	if err := h.sup.UpdateSpec(ctx, moved); err != nil {
		t.Fatal(err)
	}
	if err := h.sup.Restart(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	if xs := h.ready("x"); xs.Port != moved.Port {
		t.Fatalf("x on %d after the port change, want %d", xs.Port, moved.Port)
	}
	y2 := wantEnv("after x's port changed")
	if y2.PID == y1.PID {
		t.Fatalf("y was not restarted after the port change (pid %d)", y2.PID)
	}
	if n := strings.Count(logs.String(), "the address it uses moved"); n != 2 {
		t.Errorf("%d restarts for a moved address, want 2:\n%s", n, logs.String())
	}
}

// A restart of the referenced sidecar on the same address restarts nobody.
func TestSameAddressRestartsNobody(t *testing.T) {
	x := fixtureSpec(t, "x")
	y := fixtureSpec(t, "y")
	y.Env = map[string]string{"X_URL": "${url:x}"}
	// z and w are a marker: w names z's address, and z moves after x's
	// restart. The follower handles x's Ready before z's, and posts to y
	// before it posts to w; so once w has restarted, y has been told about
	// x's restart, and a request to y's loop is answered after it acted.
	z := fixtureSpec(t, "z")
	w := fixtureSpec(t, "w")
	w.Env = map[string]string{"Z_URL": "${url:z}"}
	h := newHarness(t, Options{}, x, y, z, w)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for _, n := range []string{"x", "y", "z", "w"} {
		h.start(n)
		h.ready(n)
	}
	pidY, pidW := h.ready("y").PID, h.ready("w").PID
	h.stop("z")
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(z.Port))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	if err := h.sup.Restart(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	if xs := h.ready("x"); xs.Port != x.Port {
		t.Fatalf("x moved to %d: the test needs it on the same port", xs.Port)
	}
	h.start("z")
	h.ready("z")
	testutil.Eventually(t, wait, func() bool {
		st, _ := h.sup.Status("w")
		return st.State == Ready && st.PID != pidW
	}, "w restarted for z's new address")

	ySpec, _ := h.sup.Spec("y")
	if err := h.sup.UpdateSpec(ctx, ySpec); err != nil { // a round trip through y's loop
		t.Fatal(err)
	}
	if st, _ := h.sup.Status("y"); st.State != Ready || st.PID != pidY {
		t.Fatalf("y is %s with pid %d (was %d): restarted although x's address did not change; reason %q",
			st.State, st.PID, pidY, st.Reason)
	}
}

func tryJSON(url string, v any) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}

type lazyString func() string

func (l lazyString) String() string { return l() }
