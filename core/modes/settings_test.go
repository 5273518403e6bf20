package modes

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"outrigger/core/config"
	"outrigger/core/supervisor"
	"outrigger/internal/testutil"
)

// settingsFile writes an outrigger.toml declaring two fixture sidecars
// (the built-in ones are disabled: there is no binary for them here).
func settingsFile(t *testing.T, extra string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "outrigger.toml")
	text := fmt.Sprintf(`# my settings
mode = "standalone"
service = "svc"
%s
[[sidecar]]
name = "xgen-workflow"
enabled = false

[[sidecar]]
name = "xgen-embedding"
enabled = false

[[sidecar]]
name = "svc"
port = %d
depends_on = ["dep"]
stop_timeout = "3s"
liveness = { disabled = true }

[[sidecar]]
name = "dep"
port = %d
stop_timeout = "3s"
liveness = { disabled = true }
`, extra, testutil.FreePort(t), testutil.FreePort(t))
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func openStore(t *testing.T, path string) *config.Store {
	t.Helper()
	s, err := config.Open(path, false)
	if err != nil {
		t.Fatalf("config.Open: %v", err)
	}
	return s
}

func load(t *testing.T, path string) (config.Config, Mode) {
	t.Helper()
	cfg, _, err := config.Load(path)
	if err != nil {
		t.Fatalf("config.Load: %v", err)
	}
	m, err := FromConfig(cfg)
	if err != nil {
		t.Fatalf("FromConfig: %v", err)
	}
	return cfg, m
}

// The mode is remembered in outrigger.toml (atomically, with a .bak, the
// rest of the file kept) and a new launch comes back in it. Quitting —
// Run ended before the supervisor stops everything — does not turn into a
// remembered fall-back.
func TestRememberedModeSurvivesRestart(t *testing.T) {
	gw := newGateway(t)
	path := settingsFile(t, "")
	cfg, initial := load(t, path)
	if !initial.Equal(StandaloneMode()) {
		t.Fatalf("initial mode %s", initial)
	}

	// First launch.
	r := newRig(t, rigOpts{cfg: &cfg, initial: initial, persist: Remember(openStore(t, path))})
	ctx, cancel := context.WithTimeout(context.Background(), 2*wait)
	defer cancel()
	if err := r.c.Apply(ctx, initial); err != nil {
		t.Fatal(err)
	}
	r.ok(r.c.EnableConnected(gw.URL()))
	if _, m := load(t, path); !m.Equal(ConnectedMode(gw.URL())) {
		t.Fatalf("remembered %s, want connected", m)
	}
	if bak, err := os.ReadFile(path + ".bak"); err != nil || !strings.Contains(string(bak), `mode = "standalone"`) {
		t.Errorf(".bak = %q, %v; want the previous version", bak, err)
	}
	r.ok(r.c.EnableService("", nil))
	_, m := load(t, path)
	if !m.Equal(ServiceMode("svc", "")) {
		t.Fatalf("remembered %s, want service (svc)", m)
	}
	text, _ := os.ReadFile(path)
	for _, want := range []string{`gateway_url = "` + gw.URL() + `"`, `name = "dep"`, `enabled = false`} {
		if !strings.Contains(string(text), want) {
			t.Errorf("the rest of the file was lost: no %q in\n%s", want, text)
		}
	}
	// Quit the way main does: the controller first, then the sidecars.
	r.sup.DisableRestarts()
	r.stop()
	if err := r.sup.StopAll(ctx); err != nil {
		t.Fatal(err)
	}
	if _, m := load(t, path); !m.Equal(ServiceMode("svc", "")) {
		t.Fatalf("after quitting the remembered mode is %s, want service (svc)", m)
	}

	// Second launch from the saved file.
	cfg2, initial2 := load(t, path)
	r2 := newRig(t, rigOpts{cfg: &cfg2, initial: initial2, persist: Remember(openStore(t, path))})
	if err := r2.c.Apply(ctx, initial2); err != nil {
		t.Fatal(err)
	}
	r2.wantService("svc")
	if st := r2.status("dep"); st.State != supervisor.Ready {
		t.Errorf("dep is %s", st.State)
	}
}

// Persist errors are logged and announced; the mode changes anyway.
func TestPersistFailureStillSwitches(t *testing.T) {
	r := newRig(t, rigOpts{persist: func(Mode) error { return fmt.Errorf("disk full") }}, fixtureSpec(t, "svc"))
	gw := newGateway(t)
	r.ok(r.c.EnableConnected(gw.URL()))
	r.wantMode(ConnectedMode(gw.URL()))
	e := r.rec.waitFor(t, "persistFailed", func(e Event) bool { return e.Kind == PersistFailed })
	if e.Err == nil || !strings.Contains(e.Message, "disk full") {
		t.Errorf("PersistFailed = %+v", e)
	}
}

// An edit made to the file elsewhere while the app runs is kept when the
// mode is remembered, even one to the mode itself: the switch the user
// just made wins, the rest of their edit stays.
func TestRememberKeepsOutsideEdit(t *testing.T) {
	path := settingsFile(t, "")
	store := openStore(t, path)
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	outside := strings.Replace(string(text), `mode = "standalone"`, "mode = \"connected\"\ngateway_url = \"http://127.0.0.1:1\"", 1)
	if err := os.WriteFile(path, []byte(outside), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Remember(store)(ServiceMode("svc", "")); err != nil {
		t.Fatal(err)
	}
	cfg, m := load(t, path)
	if !m.Equal(ServiceMode("svc", "")) || cfg.GatewayURL != "http://127.0.0.1:1" {
		t.Errorf("remembered %s, gateway %q", m, cfg.GatewayURL)
	}
}
