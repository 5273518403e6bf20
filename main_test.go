//go:build linux

package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"outrigger/core/proc"
	"outrigger/core/supervisor"
	"outrigger/internal/testutil"
)

// standInsOff turns the two stand-in sidecars of the default settings
// off, in a test's outrigger.toml: its own fixtures are what it supervises.
const standInsOff = `[[sidecar]]
name = "xgen-workflow"
enabled = false
[[sidecar]]
name = "xgen-embedding"
enabled = false
`

// TestMain lets the test binary be the app: with OUTRIGGER_RUN_MAIN set it
// runs main() (and so also serves as its own guardian), which is how these
// tests get a real outrigger process to kill.
func TestMain(m *testing.M) {
	if os.Getenv("OUTRIGGER_RUN_MAIN") == "1" {
		os.Args = append([]string{"outrigger"}, strings.Fields(os.Getenv("OUTRIGGER_ARGS"))...)
		main()
		return
	}
	testutil.RunMain(m)
}

const wait = 60 * time.Second

type app struct {
	cmd  *exec.Cmd
	home string
	mu   sync.Mutex
	out  strings.Builder
	done chan struct{}
}

// startApp runs `outrigger --headless --config <cfg>` with OUTRIGGER_HOME
// in a temp folder and binaries from bin.
func startApp(t *testing.T, cfg, bin string) *app {
	t.Helper()
	return startAppIn(t, t.TempDir(), cfg, bin)
}

// startAppIn is startApp with OUTRIGGER_HOME in home (a second launch).
func startAppIn(t *testing.T, home, cfg, bin string) *app {
	t.Helper()
	cfgPath := filepath.Join(home, "test.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	self, _ := os.Executable()
	a := &app{home: home, done: make(chan struct{})}
	a.cmd = exec.Command(self)
	a.cmd.Env = append(os.Environ(), "OUTRIGGER_RUN_MAIN=1", "OUTRIGGER_ARGS=--headless --config "+cfgPath,
		"OUTRIGGER_HOME="+home, "OUTRIGGER_BINARIES="+bin, "NO_COLOR=1")
	stderr, _ := a.cmd.StderrPipe()
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(a.done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			a.mu.Lock()
			a.out.WriteString(sc.Text() + "\n")
			a.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = a.cmd.Process.Kill()
		<-a.done
		_ = a.cmd.Wait()
		if t.Failed() {
			t.Logf("app output:\n%s", a.output())
		}
	})
	return a
}

func (a *app) output() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.out.String()
}

// waitHealthy waits until something answers /health on each port.
func waitHealthy(t *testing.T, ports ...int) {
	t.Helper()
	for _, p := range ports {
		url := fmt.Sprintf("http://127.0.0.1:%d/health", p)
		testutil.Eventually(t, wait, func() bool {
			resp, err := http.Get(url)
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == 200
		}, "%s to answer", url)
	}
}

func fixturePIDs(t *testing.T, port int) []int {
	var ids struct{ PID, PPID int }
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/pid", port))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&ids); err != nil {
		t.Fatal(err)
	}
	return []int{ids.PID, ids.PPID}
}

func TestKill9OfHeadlessLeavesNoSidecar(t *testing.T) {
	bin := testutil.BinDir(t, "onefile")
	p1, p2, p3 := testutil.FreePort(t), testutil.FreePort(t), testutil.FreePort(t)
	// Service mode brings up every auto-start sidecar: the three trees
	// below. "two" ignores SIGTERM and SIGPIPE (a write to its dead pipe
	// would otherwise end it): only the guardian's SIGKILL ends it. "three"
	// daemonizes (setsid + double fork): it is in no group we started.
	cfg := fmt.Sprintf(`mode = "service"
service = "one"
`+standInsOff+`[[sidecar]]
name = "one"
binary = "onefile"
args = ["-fork-grandchild"]
port = %d
[[sidecar]]
name = "two"
binary = "onefile"
args = ["-fork-grandchild", "-ignore-sigterm", "-ignore-sigpipe"]
port = %d
[[sidecar]]
name = "three"
binary = "onefile"
args = ["-daemonize"]
port = %d
`, p1, p2, p3)
	a := startApp(t, cfg, bin)
	waitHealthy(t, p1, p2, p3)
	// Serving is not yet "started": wait until the app has recorded all.
	testutil.Eventually(t, wait, func() bool {
		data, err := os.ReadFile(filepath.Join(a.home, "state", supervisor.StateFileName))
		var recs []struct{ Name string }
		return err == nil && json.Unmarshal(data, &recs) == nil && len(recs) == 3
	}, "the three sidecars in the state file")
	pids := append(fixturePIDs(t, p1), fixturePIDs(t, p2)...)
	daemon := fixturePIDs(t, p3)[0]
	pids = append(pids, daemon)
	// The app is the subreaper of its sidecars' orphans: the daemon's
	// parent is the app, not init.
	// (once the double fork's middle process has exited).
	testutil.Eventually(t, wait, func() bool {
		st, err := proc.ReadStat(daemon)
		return err == nil && st.PPID == a.cmd.Process.Pid
	}, "the daemon %d to have the app (%d) as its parent", daemon, a.cmd.Process.Pid)
	// The clock starts at the kill, not when the app's stderr closes: the
	// guardian shares that pipe and holds it until its work is done.
	killed := time.Now()
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// How long that takes is a figure, not the property (the guardian's
	// SIGTERM grace alone is 750 ms, and a loaded machine took over 2 s
	// in 2 of 20 runs): the test waits generously and logs it.
	deadline := killed.Add(wait)
	for time.Now().Before(deadline) {
		alive := 0
		for _, p := range pids {
			if testutil.ProcessAlive(p) {
				alive++
			}
		}
		if alive == 0 {
			t.Logf("every sidecar process gone %v after kill -9 of the app", time.Since(killed).Round(time.Millisecond))
			return
		}
		time.Sleep(10 * time.Millisecond) // polling foreign processes: there is no event to wait on
	}
	for _, p := range pids {
		if testutil.ProcessAlive(p) {
			t.Errorf("pid %d alive %v after kill -9 of the app", p, wait)
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
	}
}

func TestHeadlessStandInsReadyThenSIGTERMStopsAll(t *testing.T) {
	bin := t.TempDir()
	for _, name := range []string{"xgen-workflow", "xgen-embedding"} {
		src := testutil.BuildBinary(t, "outrigger/cmd/"+name, name)
		if err := os.Link(src, filepath.Join(bin, name+"-"+testutil.Triple())); err != nil {
			t.Fatal(err)
		}
	}
	p1, p2 := testutil.FreePort(t), testutil.FreePort(t)
	a := startApp(t, fmt.Sprintf("[[sidecar]]\nname = \"xgen-workflow\"\nport = %d\n[[sidecar]]\nname = \"xgen-embedding\"\nport = %d\n", p1, p2), bin)
	testutil.Eventually(t, wait, func() bool {
		out := a.output()
		return strings.Contains(out, "INF ready sidecar=xgen-workflow") && strings.Contains(out, "INF ready sidecar=xgen-embedding")
	}, "both stand-ins to log ready")
	data, err := os.ReadFile(filepath.Join(a.home, "state", supervisor.StateFileName))
	if err != nil {
		t.Fatal(err)
	}
	var recs []struct{ PID int }
	if err := json.Unmarshal(data, &recs); err != nil || len(recs) != 2 {
		t.Fatalf("state file: %s (%v)", data, err)
	}
	// The workflow engine reaches the embedding service through the URL
	// the app passed it.
	resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/deploy/stream", p1), "application/json",
		strings.NewReader(`{"workflow_id":"embed","input":{"text":"hello"}}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "completed") {
		t.Errorf("embed workflow through the app's wiring: %d %s", resp.StatusCode, body)
	}
	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-a.done
	if err := a.cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	for _, r := range recs {
		if testutil.ProcessAlive(r.PID) {
			t.Errorf("sidecar pid %d alive after the app exited", r.PID)
		}
	}
}
