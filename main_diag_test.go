//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"outrigger/core/config"
	"outrigger/core/diagnostics"
	"outrigger/core/supervisor"
	"outrigger/internal/testutil"
)

const diagSecret = "tok-cli-diag-93f1"

// diagConfig has one fixture sidecar, alpha, holding diagSecret in its env
// and printing it.
func diagConfig(t *testing.T) string {
	return fmt.Sprintf(`mode = "standalone"
`+standInsOff+`[[sidecar]]
name = "alpha"
port = %d
args = ["-stderr-line", "connecting with API_TOKEN=%s"]
env = { API_TOKEN = %q }
`, testutil.FreePort(t), diagSecret, diagSecret)
}

// diagRun runs `outrigger diagnostics args...` in dir.
func diagRun(t *testing.T, home, dir string, args ...string) (string, string, int) {
	t.Helper()
	self, _ := os.Executable()
	cmd := exec.Command(self)
	cmd.Env = cliEnv(home, append([]string{"diagnostics"}, args...))
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	code := 0
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// readReport opens a saved report, checks it is 0600 and holds no secret.
func readReport(t *testing.T, path string) map[string][]byte {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("report mode %v, want 0600", fi.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := testutil.Unzip(t, data)
	for name, b := range out {
		if bytes.Contains(b, []byte(diagSecret)) {
			t.Errorf("%s holds the secret", name)
		}
	}
	return out
}

// With an instance running, `outrigger diagnostics FILE` saves the
// instance's report: live statuses, the sidecar's output, masked.
func TestCLIDiagnosticsFromInstance(t *testing.T) {
	a := startApp(t, diagConfig(t), testutil.BinDir(t, "alpha"))
	testutil.Eventually(t, wait, func() bool {
		_, _, code := cliRun(t, a.home, "start", "alpha", "--wait")
		return code == 0
	}, "alpha started through the CLI")
	path := filepath.Join(t.TempDir(), "report.zip")
	out, errOut, code := diagRun(t, a.home, t.TempDir(), path)
	if code != 0 || !strings.Contains(out, "running instance") {
		t.Fatalf("diagnostics: exit %d %q %s", code, out, errOut)
	}
	e := readReport(t, path)
	var sts []supervisor.Status
	if err := json.Unmarshal(e[diagnostics.EntryStatus], &sts); err != nil {
		t.Fatalf("status.json: %v", err)
	}
	if len(sts) != 1 || sts[0].Name != "alpha" || sts[0].State != supervisor.Ready || sts[0].PID == 0 {
		t.Errorf("status.json = %+v", sts)
	}
	if l := string(e[diagnostics.SidecarLogEntry("alpha")]); !strings.Contains(l, "API_TOKEN="+config.Mask) {
		t.Errorf("alpha's output:\n%s", l)
	}
	if !bytes.Contains(e[diagnostics.EntryAppLog], []byte("starting")) {
		t.Errorf("the app log is missing:\n%.500s", e[diagnostics.EntryAppLog])
	}
}

// With none running, `outrigger diagnostics` builds the report from the
// settings file and the log folder, under the default name in the current
// folder, and leaves the settings file as it was.
func TestCLIDiagnosticsWithoutInstance(t *testing.T) {
	home := t.TempDir()
	cfgText := diagConfig(t)
	cfgPath := filepath.Join(home, "outrigger.toml")
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(home, "logs"), 0o700); err != nil {
		t.Fatal(err)
	}
	last := "2026-01-02T03:04:05.000Z stderr connecting with API_TOKEN=" + diagSecret + "\n"
	if err := os.WriteFile(filepath.Join(home, "logs", "alpha.log"), []byte(last), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out, errOut, code := diagRun(t, home, dir)
	if code != 0 || !strings.Contains(out, "No Outrigger instance is running") {
		t.Fatalf("diagnostics: exit %d %q %s", code, out, errOut)
	}
	found, _ := filepath.Glob(filepath.Join(dir, "outrigger-diagnostics-*.zip"))
	if len(found) != 1 {
		t.Fatalf("reports in the current folder: %v", found)
	}
	e := readReport(t, found[0])
	if _, ok := e[diagnostics.EntryStatus]; ok {
		t.Error("a status.json with no instance running")
	}
	if l := string(e[diagnostics.SidecarLogEntry("alpha")]); !strings.Contains(l, "API_TOKEN="+config.Mask) {
		t.Errorf("alpha's last output from its log file:\n%s", l)
	}
	if !strings.Contains(string(e[diagnostics.EntryConfig]), `Name = "alpha"`) {
		t.Errorf("config.toml is not the settings file's:\n%s", e[diagnostics.EntryConfig])
	}
	if b, _ := os.ReadFile(cfgPath); string(b) != cfgText {
		t.Error("the settings file changed")
	}
	// A file name is honoured; a folder gets the default name inside it.
	sub := t.TempDir()
	if _, errOut, code := diagRun(t, home, dir, sub); code != 0 {
		t.Fatalf("diagnostics DIR: exit %d %s", code, errOut)
	}
	if found, _ := filepath.Glob(filepath.Join(sub, "outrigger-diagnostics-*.zip")); len(found) != 1 {
		t.Errorf("reports in the named folder: %v", found)
	}
	if _, _, code := diagRun(t, home, dir, "a.zip", "b.zip"); code != 2 {
		t.Errorf("two file names: exit %d, want 2", code)
	}
}
