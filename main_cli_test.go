//go:build linux

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"outrigger/core/control"
	"outrigger/core/supervisor"
	"outrigger/internal/testutil"
)

// cliEnv is the environment of a CLI run against the instance in home.
func cliEnv(home string, args []string) []string {
	return append(os.Environ(), "OUTRIGGER_RUN_MAIN=1", "OUTRIGGER_ARGS="+strings.Join(args, " "),
		"OUTRIGGER_HOME="+home, "NO_COLOR=1")
}

// cliRun runs `outrigger args...` (this test binary as the app) to the end.
func cliRun(t *testing.T, home string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	self, _ := os.Executable()
	cmd := exec.Command(self)
	cmd.Env = cliEnv(home, args)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("outrigger %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

// streamCLI starts a CLI command that keeps printing, and returns its
// lines as they come.
type cliStream struct {
	cmd   *exec.Cmd
	lines chan string
	done  chan struct{}
}

func streamCLI(t *testing.T, home string, args ...string) *cliStream {
	t.Helper()
	self, _ := os.Executable()
	s := &cliStream{cmd: exec.Command(self), lines: make(chan string, 1024), done: make(chan struct{})}
	s.cmd.Env = cliEnv(home, args)
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
		close(s.lines)
	}()
	t.Cleanup(func() { s.cmd.Process.Kill(); <-s.done; s.cmd.Wait() })
	return s
}

func (s *cliStream) expect(t *testing.T, what string, match func(string) bool) string {
	t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case l, ok := <-s.lines:
			if !ok {
				t.Fatalf("the command ended before printing %s", what)
			}
			if match(l) {
				return l
			}
		case <-deadline:
			t.Fatalf("no %s within %v", what, wait)
		}
	}
}

// interrupt ends a following command with Ctrl-C; it exits 0.
func (s *cliStream) interrupt(t *testing.T) {
	t.Helper()
	s.cmd.Process.Signal(os.Interrupt)
	<-s.done
	if err := s.cmd.Wait(); err != nil {
		t.Errorf("%v after Ctrl-C: %v", s.cmd.Args, err)
	}
}

func statusJSON(t *testing.T, home string) (map[string]supervisor.Status, int) {
	t.Helper()
	out, _, code := cliRun(t, home, "status", "--json")
	if code != 0 {
		return nil, code
	}
	var list control.SidecarList
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	m := map[string]supervisor.Status{}
	for _, s := range list.Sidecars {
		m[s.Name] = s
	}
	return m, 0
}

var pidIn = regexp.MustCompile(`pid (\d+)`)

// A headless instance with fixture sidecars, driven only through the CLI.
func TestCLIDrivesHeadlessInstance(t *testing.T) {
	bin := testutil.BinDir(t, "alpha", "beta")
	cfg := fmt.Sprintf(`mode = "service"
service = "alpha"
`+standInsOff+`[[sidecar]]
name = "alpha"
port = %d
args = ["-lines-per-sec", "20"]
restart = { policy = "always" }
[[sidecar]]
name = "beta"
port = %d
`, testutil.FreePort(t), testutil.FreePort(t))
	a := startApp(t, cfg, bin)
	var sts map[string]supervisor.Status
	testutil.Eventually(t, wait, func() bool {
		var code int
		sts, code = statusJSON(t, a.home)
		return code == 0 && sts["alpha"].State == supervisor.Ready && sts["beta"].State == supervisor.Ready
	}, "both sidecars Ready according to `outrigger status --json`")
	pids := map[int]bool{sts["alpha"].PID: true, sts["beta"].PID: true}

	// status: an aligned table.
	out, _, code := cliRun(t, a.home, "status")
	rows := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if code != 0 || len(rows) != 3 {
		t.Fatalf("status: exit %d\n%s", code, out)
	}
	if f := strings.Fields(rows[0]); strings.Join(f, " ") != "NAME STATE PORT PID UPTIME RESTARTS CPU MEMORY" {
		t.Errorf("header %q", rows[0])
	}
	col := strings.Index(rows[0], "STATE")
	for i, name := range []string{"alpha", "beta"} {
		f := strings.Fields(rows[i+1])
		if f[0] != name || f[1] != "ready" || f[2] != strconv.Itoa(sts[name].Port) || f[3] != strconv.Itoa(sts[name].PID) {
			t.Errorf("row %q", rows[i+1])
		}
		if strings.Index(rows[i+1], "ready") != col {
			t.Errorf("row %q is not aligned with the header", rows[i+1])
		}
	}

	// restart --wait ready (as the README shows it) returns after Ready,
	// with a new pid.
	out, errOut, code := cliRun(t, a.home, "restart", "alpha", "--wait", "ready")
	m := pidIn.FindStringSubmatch(out)
	if code != 0 || !strings.HasPrefix(out, "alpha: ready (pid ") || m == nil {
		t.Fatalf("restart --wait: exit %d\n%s%s", code, out, errOut)
	}
	newPID, _ := strconv.Atoi(m[1])
	if newPID == sts["alpha"].PID {
		t.Fatalf("restart kept pid %d", newPID)
	}
	pids[newPID] = true
	if now, _ := statusJSON(t, a.home); now["alpha"].PID != newPID || now["alpha"].State != supervisor.Ready {
		t.Fatalf("after restart --wait: %+v", now["alpha"])
	}

	// logs -f sees a line printed after it started. The restarted alpha's
	// last line is its "listening" line until its first counted line
	// reaches the ring (it prints 20 a second; a Ready sidecar's output is
	// read every 100 ms): wait for one.
	var before int
	testutil.Eventually(t, wait, func() bool {
		out, _, code = cliRun(t, a.home, "logs", "-n", "1", "alpha")
		_, err := fmt.Sscanf(strings.TrimSpace(out), "line %d", &before)
		return code == 0 && err == nil
	}, "`logs -n 1 alpha` to show a counted line")
	follow := streamCLI(t, a.home, "logs", "-f", "-n", "0", "alpha")
	line := follow.expect(t, "a followed line", func(l string) bool { return strings.HasPrefix(l, "line ") })
	var after int
	fmt.Sscanf(line, "line %d", &after)
	if after <= before {
		t.Fatalf("logs -f printed %q, not after line %d", line, before)
	}
	follow.interrupt(t)

	// events sees Restarting then Ready after a kill -9.
	events := streamCLI(t, a.home, "events")
	events.expect(t, "alpha's current state", func(l string) bool { return strings.Contains(l, " alpha: ready (pid "+strconv.Itoa(newPID)) })
	if err := syscall.Kill(newPID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	events.expect(t, "alpha restarting", func(l string) bool { return strings.Contains(l, " alpha restarting: ") })
	l := events.expect(t, "alpha ready again", func(l string) bool { return strings.Contains(l, " alpha: ready (pid ") })
	if p, _ := strconv.Atoi(pidIn.FindStringSubmatch(l)[1]); p == newPID {
		t.Fatalf("ready again with the killed pid: %q", l)
	} else {
		pids[p] = true
	}
	events.interrupt(t)

	// Mode switch.
	if out, errOut, code = cliRun(t, a.home, "mode", "standalone"); code != 0 || out != "mode: standalone\n" {
		t.Fatalf("mode standalone: exit %d %q %s", code, out, errOut)
	}
	if now, _ := statusJSON(t, a.home); now["alpha"].State != supervisor.Stopped || now["beta"].State != supervisor.Stopped {
		t.Fatalf("standalone left sidecars running: %v %v", now["alpha"].State, now["beta"].State)
	}
	if out, errOut, code = cliRun(t, a.home, "mode", "service", "beta"); code != 0 || !strings.HasPrefix(out, "mode: service (beta at http://127.0.0.1:") {
		t.Fatalf("mode service beta: exit %d %q %s", code, out, errOut)
	}
	if out, _, code = cliRun(t, a.home, "mode"); code != 0 || !strings.HasPrefix(out, "mode: service (beta at") {
		t.Fatalf("mode: exit %d %q", code, out)
	}
	now, _ := statusJSON(t, a.home)
	for _, s := range now {
		if s.PID > 0 {
			pids[s.PID] = true
		}
	}

	// Mistakes: exit 1 with the reason, 2 for usage.
	if _, errOut, code = cliRun(t, a.home, "start", "nope"); code != 1 || !strings.Contains(errOut, `no sidecar named "nope" (known: "alpha", "beta")`) {
		t.Errorf("start nope: exit %d %s", code, errOut)
	}
	if _, _, code = cliRun(t, a.home, "mode", "bogus"); code != 2 {
		t.Errorf("mode bogus: exit %d", code)
	}
	if _, errOut, code = cliRun(t, a.home, "restart", "-h"); code != 0 || !strings.Contains(errOut, "usage: outrigger restart") {
		t.Errorf("restart -h: exit %d %s", code, errOut)
	}
	if _, errOut, code = cliRun(t, a.home, "show"); code != 1 || !strings.Contains(errOut, "headless") {
		t.Errorf("show on a headless instance: exit %d %s", code, errOut)
	}

	// A second launch defers to the first, and says what happened.
	self, _ := os.Executable()
	second := exec.Command(self)
	second.Env = append(os.Environ(), "OUTRIGGER_RUN_MAIN=1", "OUTRIGGER_ARGS=--headless", "OUTRIGGER_HOME="+a.home, "NO_COLOR=1")
	if out, err := second.CombinedOutput(); err != nil || !strings.Contains(string(out), "already running headless") || strings.Contains(string(out), "asked it to show") {
		t.Errorf("second launch: %v\n%s", err, out)
	}

	// quit returns once the instance is gone; nothing is left.
	if out, errOut, code = cliRun(t, a.home, "quit"); code != 0 || out != "Outrigger has quit.\n" {
		t.Fatalf("quit: exit %d %q %s", code, out, errOut)
	}
	select {
	case <-a.done:
	case <-time.After(wait):
		t.Fatal("the app did not exit after quit")
	}
	if err := a.cmd.Wait(); err != nil {
		t.Errorf("the app's exit after quit: %v", err)
	}
	for p := range pids {
		if testutil.ProcessAlive(p) {
			t.Errorf("sidecar pid %d alive after quit", p)
		}
	}
	if _, err := os.Lstat(filepath.Join(a.home, "run", "outrigger.sock")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left after quit: %v", err)
	}
	if _, errOut, code = cliRun(t, a.home, "status"); code != 3 || !strings.Contains(errOut, "outrigger --headless") {
		t.Errorf("status with no instance: exit %d %s", code, errOut)
	}
}

func TestCLIWithoutInstance(t *testing.T) {
	home := t.TempDir()
	for _, args := range [][]string{{"status"}, {"restart", "x"}, {"logs", "x"}, {"events"}, {"quit"}, {"mode"}} {
		_, errOut, code := cliRun(t, home, args...)
		if code != 3 || !strings.Contains(errOut, "no Outrigger instance is running") {
			t.Errorf("%v: exit %d %s", args, code, errOut)
		}
	}
	out, _, code := cliRun(t, home, "help")
	if code != 0 || !strings.Contains(out, "status [--json]") || !strings.Contains(out, "exit codes") {
		t.Errorf("help: exit %d\n%s", code, out)
	}
}

// BenchmarkCLIStatus is `outrigger status` as a user runs it: the real
// binary (built here, window code linked in), process start to exit,
// against a headless instance with two sidecars.
func BenchmarkCLIStatus(b *testing.B) {
	exe := filepath.Join(b.TempDir(), "outrigger")
	build := exec.Command("go", "build", "-o", exe, ".")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	home := b.TempDir()
	cfg := fmt.Sprintf("mode = \"standalone\"\n[[sidecar]]\nname = \"xgen-workflow\"\nport = %d\n[[sidecar]]\nname = \"xgen-embedding\"\nport = %d\n",
		testutil.FreePort(b), testutil.FreePort(b))
	cfgPath := filepath.Join(home, "test.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		b.Fatal(err)
	}
	app := exec.Command(exe, "--headless", "--config", cfgPath)
	app.Env = append(os.Environ(), "OUTRIGGER_HOME="+home, "NO_COLOR=1")
	if err := app.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { app.Process.Signal(syscall.SIGTERM); app.Wait() }()
	status := func() time.Duration {
		cmd := exec.Command(exe, "status")
		cmd.Env = append(os.Environ(), "OUTRIGGER_HOME="+home)
		start := time.Now()
		err := cmd.Run()
		d := time.Since(start)
		if err != nil {
			return -1
		}
		return d
	}
	testutil.Eventually(b, wait, func() bool { return status() >= 0 }, "the instance to answer")
	ds := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		d := status()
		if d < 0 {
			b.Fatal("status failed")
		}
		ds = append(ds, d)
	}
	b.StopTimer()
	slices.Sort(ds)
	b.ReportMetric(float64(ds[len(ds)/2])/float64(time.Millisecond), "p50-ms")
	b.ReportMetric(float64(ds[len(ds)*99/100])/float64(time.Millisecond), "p99-ms")
	b.ReportMetric(0, "ns/op")
}

// [api] listen from outrigger.toml: a loopback address serves the API with
// the token; a non-loopback one without allow_remote is refused at start
// with a clear error, and the rest of the app runs.
func TestAPIListenFromConfig(t *testing.T) {
	base := "mode = \"standalone\"\n[[sidecar]]\nname = \"xgen-workflow\"\nenabled = false\n[[sidecar]]\nname = \"xgen-embedding\"\nenabled = false\n"
	remote := startApp(t, base+"[api]\nlisten = \"0.0.0.0:"+strconv.Itoa(testutil.FreePort(t))+"\"\n", t.TempDir())
	testutil.Eventually(t, wait, func() bool {
		return strings.Contains(remote.output(), "control API: not listening on TCP")
	}, "the refusal in the log")
	if out := remote.output(); !strings.Contains(out, "is not a loopback address") || !strings.Contains(out, "allow_remote = true") {
		t.Errorf("refusal does not say why and what to do:\n%s", out)
	}
	if _, errOut, code := cliRun(t, remote.home, "status"); code != 0 {
		t.Errorf("status with the TCP listener refused: exit %d %s", code, errOut)
	}

	port := testutil.FreePort(t)
	local := startApp(t, base+"[api]\nlisten = \"127.0.0.1:"+strconv.Itoa(port)+"\"\n", t.TempDir())
	testutil.Eventually(t, wait, func() bool { return strings.Contains(local.output(), "control API listening") }, "the TCP listener")
	token, err := os.ReadFile(filepath.Join(local.home, control.TokenFileName))
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(filepath.Join(local.home, control.TokenFileName)); fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v", fi.Mode())
	}
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/v1/version"
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("no token: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("with the token: %d", resp.StatusCode)
	}
}

// A launch that finds the lock held but gets no answer says so and fails;
// it never claims to have asked the other one to show its window (17.9).
func TestSecondLaunchWithoutAnswer(t *testing.T) {
	home := t.TempDir()
	run := filepath.Join(home, "run")
	if err := os.MkdirAll(run, 0o700); err != nil {
		t.Fatal(err)
	}
	lock, err := os.OpenFile(filepath.Join(run, "outrigger.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	self, _ := os.Executable()
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), "OUTRIGGER_RUN_MAIN=1", "OUTRIGGER_ARGS=--headless", "OUTRIGGER_HOME="+home, "NO_COLOR=1")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Errorf("exit: %v, want 1", err)
	}
	if !strings.Contains(string(out), "already running but did not answer") || strings.Contains(string(out), "asked it to show") {
		t.Errorf("output:\n%s", out)
	}
}

// A launch while the running instance is quitting waits for the quit to end
// and then is the instance. Before, it asked the quitting one to show its
// window, was told it runs headless (or that it was shown), exited 0, and
// once the quit ended nothing ran.
func TestLaunchDuringQuitTakesOver(t *testing.T) {
	bin := testutil.BinDir(t, "alpha", "stubborn")
	cfg := fmt.Sprintf(`mode = "service"
service = "alpha"
`+standInsOff+`[[sidecar]]
name = "alpha"
port = %d
[[sidecar]]
name = "stubborn"
port = %d
args = ["-ignore-sigterm"]
stop_timeout = "10m"
`, testutil.FreePort(t), testutil.FreePort(t))
	first := startApp(t, cfg, bin)
	var sts map[string]supervisor.Status
	testutil.Eventually(t, wait, func() bool {
		var code int
		sts, code = statusJSON(t, first.home)
		return code == 0 && sts["alpha"].State == supervisor.Ready && sts["stubborn"].State == supervisor.Ready
	}, "both sidecars Ready")

	// The quit stays under way: stubborn ignores SIGTERM for 10 minutes.
	quit := streamCLI(t, first.home, "quit")
	testutil.Eventually(t, wait, func() bool {
		now, code := statusJSON(t, first.home)
		return code == 0 && now["stubborn"].State == supervisor.Stopping
	}, "stubborn stopping in the quit")

	second := startAppIn(t, first.home, cfg, bin)
	testutil.Eventually(t, wait, func() bool {
		return strings.Contains(second.output(), "Outrigger is quitting; this launch starts once it has ended")
	}, "the second launch to say it waits for the quit")
	select {
	case <-second.done:
		t.Fatalf("the second launch ended during the quit:\n%s", second.output())
	default:
	}

	// The quit ends; the second launch is the instance and brings the
	// services up again.
	if err := syscall.Kill(sts["stubborn"].PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	quit.expect(t, "the quit's end", func(l string) bool { return l == "Outrigger has quit." })
	select {
	case <-first.done:
	case <-time.After(wait):
		t.Fatal("the first instance did not exit after its quit")
	}
	testutil.Eventually(t, wait, func() bool {
		now, code := statusJSON(t, first.home)
		return code == 0 && now["alpha"].State == supervisor.Ready && now["stubborn"].State == supervisor.Ready &&
			now["stubborn"].PID != sts["stubborn"].PID
	}, "the second launch serving, with both sidecars Ready")
	if out := second.output(); strings.Contains(out, "already running") {
		t.Errorf("the second launch deferred to the quitting instance:\n%s", out)
	}
}
