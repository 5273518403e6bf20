//go:build linux

package main

import (
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"outrigger/internal/testutil"
)

// The headless build (make headless-app: -tags nogui, CGO_ENABLED=0) links
// no GUI library, so it loads on a machine without libGL or X11, and it
// supervises without being told --headless: a sidecar comes up Ready, and
// SIGTERM stops it and exits 0.
func TestHeadlessBuildNeedsNoGUILibraries(t *testing.T) {
	deps, err := exec.Command("go", "list", "-tags", "nogui", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(deps)) {
		if strings.HasPrefix(dep, "fyne.io/") || strings.HasPrefix(dep, "outrigger/ui") || strings.Contains(dep, "go-gl") {
			t.Errorf("the headless build depends on %s", dep)
		}
	}
	exe := filepath.Join(testutil.TempDir(t), "outrigger-headless")
	build := exec.Command("go", "build", "-tags", "nogui", "-o", exe, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build -tags nogui: %v\n%s", err, out)
	}
	f, err := elf.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	libs, err := f.ImportedLibraries()
	interp := f.Section(".interp")
	f.Close()
	if err != nil || len(libs) > 0 || interp != nil {
		t.Fatalf("the headless build is dynamically linked: libraries %v (%v), interpreter %v", libs, err, interp != nil)
	}

	bin := testutil.BinDir(t, "fix")
	port := testutil.FreePort(t)
	home := t.TempDir()
	cfgPath := filepath.Join(home, "test.toml")
	cfg := fmt.Sprintf(`mode = "service"
service = "one"
`+standInsOff+`[[sidecar]]
name = "one"
binary = "fix"
port = %d
`, port)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var out testutil.Buffer
	app := exec.Command(exe, "--config", cfgPath) // no --headless: this build has no window to open
	app.Env = append(os.Environ(), "OUTRIGGER_HOME="+home, "OUTRIGGER_BINARIES="+bin, "NO_COLOR=1", "DISPLAY=", "WAYLAND_DISPLAY=")
	app.Stderr = &out
	if err := app.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- app.Wait() }()
	t.Cleanup(func() {
		_ = app.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("app output:\n%s", out.String())
		}
	})
	testutil.Eventually(t, wait, func() bool { return strings.Contains(out.String(), "INF ready sidecar=one") },
		"the app to log the sidecar ready")
	sidecar := fixturePIDs(t, port)[0]
	if err := app.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		exited <- err // for the cleanup
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(wait):
		t.Fatalf("still running %v after SIGTERM", wait)
	}
	if testutil.ProcessAlive(sidecar) {
		t.Errorf("sidecar pid %d alive after the app exited", sidecar)
	}
}
