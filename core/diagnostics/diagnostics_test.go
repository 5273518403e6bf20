//go:build unix

package diagnostics

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"outrigger/core/appdirs"
	"outrigger/core/config"
	"outrigger/core/logs"
	"outrigger/core/proc"
	"outrigger/core/supervisor"
	"outrigger/internal/testutil"
)

func TestMain(m *testing.M) {
	proc.RunGuardianIfRequested()
	testutil.RunMain(m)
}

const wait = 30 * time.Second // generous: a busy 2-core CI machine

func fixtureSpec(t *testing.T, name string, env map[string]string, args ...string) config.Spec {
	s := config.DefaultSpec(name, testutil.FreePort(t))
	s.Args = args
	s.Env = env
	s.StartupTimeout = 20 * time.Second
	s.StopTimeout = 3 * time.Second
	s.Restart.Policy = config.PolicyNever
	s.Liveness.Disabled = true
	return s
}

// The secrets of TestReport, each reaching the report by another road.
const (
	envSecret    = "s3cr3t-from-env-7f1c"       // API_TOKEN in alpha's env, printed bare and as API_TOKEN=
	argSecret    = "pw-in-the-args-90aa"        // "password: ..." in alpha's args, which it prints
	shapeSecret  = "pw-only-in-a-log-line-4b4b" // known to nobody: "password=..." in a line the app logged
	urlSecret    = "url-pass-51b2"              // in a URL alpha prints, and in the gateway URL
	appEnvSecret = "gh-token-of-the-app-e3d4"   // in the app's environment, logged by the app
	bearerSecret = "bearer-credential-c0ffee"   // an Authorization header a sidecar printed
)

var allSecrets = []string{envSecret, argSecret, shapeSecret, urlSecret, appEnvSecret, bearerSecret}

// TestReport runs two real sidecars and an app log, saves a report and
// checks every part, and that no secret survives in any entry.
func TestReport(t *testing.T) {
	home := t.TempDir()
	paths := appdirs.Paths{Home: home, StateDir: filepath.Join(home, "state"),
		LogDir: filepath.Join(home, "logs"), DataDir: filepath.Join(home, "data")}

	leak := fmt.Sprintf("API_TOKEN=%s using %s; db password: %s; gateway https://bob:%s@gw.example/ Authorization: Bearer %s",
		envSecret, envSecret, argSecret, urlSecret, bearerSecret)
	alpha := fixtureSpec(t, "alpha", map[string]string{"API_TOKEN": envSecret, "PLAIN": "visible-value"},
		"-stderr-line", leak)
	// 300 000 bytes are 3 000 lines of 100 bytes: more than the report keeps.
	beta := fixtureSpec(t, "beta", nil, "-flood-bytes", "300000")
	cfg := config.Config{Mode: config.ModeStandalone, Service: "alpha",
		GatewayURL: "https://bob:" + urlSecret + "@gw.example/", Sidecars: []config.Spec{alpha, beta}}

	sup, err := supervisor.New(supervisor.Options{
		Config:  cfg,
		Paths:   paths,
		BinDirs: []string{testutil.BinDir(t, "alpha", "beta")},
		Logger:  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		var pids []int
		for _, st := range sup.Snapshot() {
			pids = append(pids, st.PID)
		}
		if err := sup.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		for _, pid := range pids {
			if pid > 0 && testutil.ProcessAlive(pid) {
				t.Errorf("sidecar pid %d still alive after Close", pid)
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for _, n := range []string{"alpha", "beta"} {
		if err := sup.Start(ctx, n); err != nil {
			t.Fatalf("Start %s: %v", n, err)
		}
		if err := sup.WaitReady(ctx, n); err != nil {
			t.Fatalf("WaitReady %s: %v", n, err)
		}
	}
	ringHas := func(name, text string) func() bool {
		return func() bool {
			for _, l := range sup.Logs(name).Lines() {
				if strings.Contains(l.Text, text) {
					return true
				}
			}
			return false
		}
	}
	testutil.Eventually(t, wait, ringHas("alpha", "listening on"), "alpha's output in its ring")
	testutil.Eventually(t, wait, ringHas("beta", "listening on"), "beta's output in its ring")

	// The app's own log, 1 500 JSON lines, the last of them with a secret
	// of the app's environment in a field that does not look secret.
	appLog := filepath.Join(paths.LogDir, "outrigger.log")
	log, closer, err := logs.NewLogger(nil, appLog, slog.LevelInfo)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1500 {
		log.Info("app line", "n", i)
	}
	log.Info("environment", "value", appEnvSecret)
	log.Info("a sidecar said: connecting with password=" + shapeSecret + " to the db")
	if err := closer.Close(); err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(t.TempDir(), "report", FileName(time.Now()))
	err = Save(out, Options{
		Config:   cfg,
		Sidecars: sup,
		AppLog:   appLog,
		Versions: Versions{App: "1.2.3-test", Fyne: "v2.7.1"},
		Environ:  []string{"GITHUB_TOKEN=" + appEnvSecret, "PATH=/usr/bin"},
	})
	if err != nil {
		t.Fatalf("Save: %v", err)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("report mode %v, want 0600", fi.Mode().Perm())
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".*tmp*")); len(left) > 0 {
		t.Errorf("temporary files left beside the report: %v", left)
	}

	entries := readZip(t, out)
	for _, name := range []string{EntryConfig, EntryStatus, EntrySystem, EntryAppLog,
		SidecarLogEntry("alpha"), SidecarLogEntry("beta")} {
		if _, ok := entries[name]; !ok {
			t.Errorf("report has no %s (has %v)", name, keys(entries))
		}
	}
	for name, data := range entries {
		for _, s := range allSecrets {
			if i := bytes.Index(data, []byte(s)); i >= 0 {
				t.Errorf("%s holds the secret %q: …%s…", name, s, data[max(0, i-80):min(len(data), i+80)])
			}
		}
	}

	// config.toml: the user's format, secrets masked, the rest intact.
	var c struct {
		Mode       string
		GatewayURL string
		Sidecars   []struct {
			Name string
			Env  map[string]string
		}
	}
	if _, err := toml.Decode(string(entries[EntryConfig]), &c); err != nil {
		t.Fatalf("config.toml does not parse: %v\n%s", err, entries[EntryConfig])
	}
	if c.Mode != config.ModeStandalone || len(c.Sidecars) != 2 || c.Sidecars[0].Env["PLAIN"] != "visible-value" ||
		c.Sidecars[0].Env["API_TOKEN"] != config.Mask || !strings.Contains(c.GatewayURL, "gw.example") {
		t.Errorf("config.toml = %+v", c)
	}

	var statuses []supervisor.Status
	if err := json.Unmarshal(entries[EntryStatus], &statuses); err != nil {
		t.Fatalf("status.json: %v", err)
	}
	if len(statuses) != 2 || statuses[0].Name != "alpha" || statuses[0].State != supervisor.Ready ||
		statuses[1].Name != "beta" || statuses[0].PID == 0 {
		t.Errorf("status.json = %+v", statuses)
	}

	a := string(entries[SidecarLogEntry("alpha")])
	if !strings.Contains(a, "stderr API_TOKEN="+config.Mask) || !strings.Contains(a, "password: "+config.Mask) ||
		!strings.Contains(a, "listening on") {
		t.Errorf("alpha's log lost its lines or its masks:\n%s", a)
	}
	b := lines(entries[SidecarLogEntry("beta")])
	if len(b) != DefaultLines {
		t.Errorf("beta's log has %d lines, want %d", len(b), DefaultLines)
	}
	if want := sup.Logs("beta").Lines(); !strings.HasSuffix(b[len(b)-1], want[len(want)-1].Text) {
		t.Errorf("beta's log ends with %q, want the ring's newest line %q", b[len(b)-1], want[len(want)-1].Text)
	}

	app := lines(entries[EntryAppLog])
	if len(app) != DefaultLines {
		t.Errorf("app log has %d lines, want %d", len(app), DefaultLines)
	}
	if !strings.Contains(app[len(app)-3], `"n":1499`) || !strings.Contains(app[len(app)-2], config.Mask) ||
		!strings.Contains(app[len(app)-1], "password="+config.Mask+" to the db") {
		t.Errorf("app log ends with %q", app[len(app)-3:])
	}

	var sys System
	if err := json.Unmarshal(entries[EntrySystem], &sys); err != nil {
		t.Fatalf("system.json: %v", err)
	}
	if sys.App != "1.2.3-test" || sys.Fyne != "v2.7.1" || sys.Go != runtime.Version() || sys.OS != runtime.GOOS ||
		sys.Arch != runtime.GOARCH || sys.CPUs < 1 || sys.MemoryTotal == 0 || sys.Kernel == "" {
		t.Errorf("system.json = %+v", sys)
	}
	if len(sys.Problems) != 0 {
		t.Errorf("problems: %v", sys.Problems)
	}
}

// TestReportWithoutParts: with no supervisor (the CLI while the app is not
// running) the sidecars' output comes from their log files, and a missing
// app log still gives a report, which says what it could not read.
func TestReportWithoutParts(t *testing.T) {
	var buf bytes.Buffer
	logDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(logDir, "xgen-workflow.log"), []byte("last run\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "outrigger.log")
	if err := Write(&buf, Options{Config: config.Defaults(), LogDir: logDir, AppLog: missing}); err != nil {
		t.Fatal(err)
	}
	entries := unzip(t, buf.Bytes())
	if _, ok := entries[EntryStatus]; ok {
		t.Error("a status.json without a supervisor")
	}
	if got := string(entries[SidecarLogEntry("xgen-workflow")]); got != "last run\n" {
		t.Errorf("xgen-workflow's log from its file = %q", got)
	}
	if got, ok := entries[SidecarLogEntry("xgen-embedding")]; !ok || len(got) != 0 {
		t.Errorf("xgen-embedding, never run: entry %v %q, want an empty one", ok, got)
	}
	var sys System
	if err := json.Unmarshal(entries[EntrySystem], &sys); err != nil {
		t.Fatal(err)
	}
	if len(sys.Problems) != 1 || !strings.Contains(sys.Problems[0], missing) {
		t.Errorf("problems = %q, want one naming %s", sys.Problems, missing)
	}
}

func readZip(t *testing.T, path string) map[string][]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return unzip(t, data)
}

func unzip(t *testing.T, data []byte) map[string][]byte { return testutil.Unzip(t, data) }

func keys(m map[string][]byte) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	return k
}

// A secret given as a flag's value in args is masked in the report's
// configuration, and wherever a log repeats it.
func TestReportMasksSecretArgs(t *testing.T) {
	const secret = "sk-live-0123456789"
	cfg := config.Defaults()
	cfg.Sidecars[0].Args = []string{"--port", "8001", "--api-key", secret}
	logDir := t.TempDir()
	name := cfg.Sidecars[0].Name
	if err := os.WriteFile(filepath.Join(logDir, name+".log"), []byte("started with "+secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, Options{Config: cfg, LogDir: logDir, AppLog: filepath.Join(logDir, "outrigger.log")}); err != nil {
		t.Fatal(err)
	}
	entries := unzip(t, buf.Bytes())
	for entry, data := range entries {
		if bytes.Contains(data, []byte(secret)) {
			t.Errorf("%s holds the secret:\n%s", entry, data)
		}
	}
	if !bytes.Contains(entries[EntryConfig], []byte(`"--api-key", "`+config.Mask+`"`)) {
		t.Errorf("the config does not show the masked flag:\n%s", entries[EntryConfig])
	}
	if !bytes.Contains(entries[SidecarLogEntry(name)], []byte("started with "+config.Mask)) {
		t.Errorf("the log is not masked:\n%s", entries[SidecarLogEntry(name)])
	}
}
