//go:build unix

package supervisor

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"outrigger/core/config"
	"outrigger/internal/testutil"
)

// followFile is a settings file with only the fixture sidecar alpha, its
// GREETING env set to greeting.
func followFile(port int, greeting, extra string) string {
	return fmt.Sprintf(`mode = "standalone"
[[sidecar]]
name = "xgen-workflow"
enabled = false
[[sidecar]]
name = "xgen-embedding"
enabled = false
[[sidecar]]
name = "alpha"
port = %d
startup_timeout = "20s"
stop_timeout = "3s"
env = { GREETING = %q }
restart = { policy = "never" }
liveness = { disabled = true }
%s`, port, greeting, extra)
}

// followRig is a real supervisor made from a store's config and following it.
func followRig(t *testing.T, text string, log *testutil.Buffer) (*harness, *config.Store, string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "outrigger.toml")
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	store, err := config.Open(file, false)
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{}
	if log != nil {
		opts.Logger = slog.New(slog.NewTextHandler(log, nil))
	}
	h := newHarness(t, opts, store.Config().Sidecars...)
	t.Cleanup(h.sup.Follow(store))
	return h, store, file
}

func (h *harness) greeting(st Status) string {
	h.t.Helper()
	var env map[string]string
	getJSON(h.t, st.URL+"/env", &env)
	return env["GREETING"]
}

// A save through the store reaches the supervisor before Update returns:
// a Restart right after it (the settings panel's "Restart now") runs with
// the new environment and port.
func TestFollowStoreUpdate(t *testing.T) {
	port := testutil.FreePort(t)
	h, store, _ := followRig(t, followFile(port, "one", ""), nil)
	h.start("alpha")
	st := h.ready("alpha")
	h.track(st.PID)
	if g := h.greeting(st); g != "one" {
		t.Fatalf("GREETING = %q, want one", g)
	}
	newPort := testutil.FreePort(t)
	err := store.Update(func(f *config.File) error {
		for i := range f.Sidecars {
			if f.Sidecars[i].Name == "alpha" {
				f.Sidecars[i].Env = map[string]string{"GREETING": "two"}
				f.Sidecars[i].Port = config.Ptr(newPort)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// No wait here: the order is the point.
	if sp, _ := h.sup.Spec("alpha"); sp.Env["GREETING"] != "two" || sp.Port != newPort {
		t.Fatalf("after Update returned the supervisor's spec is %v port %d", sp.Env, sp.Port)
	}
	if now, _ := h.sup.Status("alpha"); now.PID != st.PID || now.Port != port {
		t.Errorf("the running sidecar changed without a restart: %+v", now)
	}
	if err := h.sup.Restart(context.Background(), "alpha"); err != nil {
		t.Fatal(err)
	}
	st = h.ready("alpha")
	h.track(st.PID)
	if st.Port != newPort {
		t.Errorf("restarted on port %d, want %d", st.Port, newPort)
	}
	if g := h.greeting(st); g != "two" {
		t.Errorf("after the restart GREETING = %q, want two", g)
	}
}

// An edit made outside Outrigger reaches the supervisor through Reload.
func TestFollowOutsideEditReload(t *testing.T) {
	port := testutil.FreePort(t)
	h, store, file := followRig(t, followFile(port, "one", ""), nil)
	if err := os.WriteFile(file, []byte(followFile(port, "three", "")), 0o600); err != nil {
		t.Fatal(err)
	}
	if sp, _ := h.sup.Spec("alpha"); sp.Env["GREETING"] != "one" {
		t.Fatalf("the supervisor took an edit nobody reloaded: %v", sp.Env)
	}
	if err := store.Reload(); err != nil {
		t.Fatal(err)
	}
	h.start("alpha")
	st := h.ready("alpha")
	h.track(st.PID)
	if g := h.greeting(st); g != "three" {
		t.Errorf("GREETING = %q after an outside edit and Reload, want three", g)
	}
}

// Sidecars removed from or added to the file at runtime are not silently
// ignored: a removed one keeps running with a status reason saying so
// (cleared when it comes back), an added one is logged as applying at the
// next launch.
func TestFollowAddedAndRemoved(t *testing.T) {
	port := testutil.FreePort(t)
	var log testutil.Buffer
	h, store, file := followRig(t, followFile(port, "one", ""), &log)
	h.start("alpha")
	st := h.ready("alpha")
	h.track(st.PID)

	gone := strings.Replace(followFile(port, "one", ""), "name = \"alpha\"\n", "name = \"alpha\"\nenabled = false\n", 1)
	gone += fmt.Sprintf("[[sidecar]]\nname = \"beta\"\nport = %d\n", testutil.FreePort(t))
	if err := os.WriteFile(file, []byte(gone), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := store.Reload(); err != nil {
		t.Fatal(err)
	}
	now, _ := h.sup.Status("alpha")
	if now.Reason != removedNote || now.State != Ready || now.PID != st.PID {
		t.Errorf("removed sidecar: state %s pid %d reason %q", now.State, now.PID, now.Reason)
	}
	h.waitEvent("the note published", func(e Event) bool { return e.Sidecar == "alpha" && e.Status.Reason == removedNote })
	if l := log.String(); !strings.Contains(l, "sidecar=alpha") || !strings.Contains(l, "removed from the settings file") ||
		!strings.Contains(l, "sidecar=beta") || !strings.Contains(l, "supervises it from its next launch") {
		t.Errorf("log does not say what happens:\n%s", l)
	}
	if names := h.sup.Names(); len(names) != 1 {
		t.Errorf("names = %v", names)
	}

	if err := os.WriteFile(file, []byte(followFile(port, "one", "")), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := store.Reload(); err != nil {
		t.Fatal(err)
	}
	if now, _ := h.sup.Status("alpha"); now.Reason == removedNote {
		t.Errorf("the note stayed after alpha came back")
	}
}
