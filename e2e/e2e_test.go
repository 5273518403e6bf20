package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"outrigger/core/proc"
	"outrigger/internal/cpustat"
	"outrigger/internal/testutil"
)

const (
	enableEnv = "OUTRIGGER_E2E"
	upTimeout = 90 * time.Second // a cold, busy 2-core CI machine
)

// skipUnlessE2E skips unless OUTRIGGER_E2E=1 and an X display is there.
func skipUnlessE2E(t testing.TB) {
	t.Helper()
	if os.Getenv(enableEnv) != "1" {
		t.Skipf("end-to-end test: set %s=1 and run under xvfb-run -a dbus-run-session", enableEnv)
	}
	if runtime.GOOS != "linux" {
		t.Skip("the end-to-end test drives X11 and D-Bus: Linux only")
	}
	if os.Getenv("DISPLAY") == "" {
		t.Skip("no DISPLAY: run under xvfb-run -a")
	}
}

// built holds the binaries, built once per test process.
var built struct {
	once sync.Once
	dir  string // holds outrigger and binaries/
	err  error
}

// binaries builds bin/outrigger from the module root and the two stand-ins
// named {name}-{target-triple}, as the Makefile lays them out.
func binaries(t testing.TB) (app, binDir string) {
	t.Helper()
	built.once.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "outrigger-e2e-")
		if built.err != nil {
			return
		}
		root, err := moduleRoot()
		if err != nil {
			built.err = err
			return
		}
		build := func(out, pkg string, cgo bool) error {
			args := []string{"build", "-o", out}
			if cgo && os.Getenv("OUTRIGGER_E2E_RACE") == "1" {
				args = append(args, "-race") // the app itself under the race detector
			}
			cmd := exec.Command("go", append(args, pkg)...)
			cmd.Dir = root
			cmd.Env = os.Environ()
			if !cgo {
				cmd.Env = append(cmd.Env, "CGO_ENABLED=0")
			}
			if b, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
			}
			return nil
		}
		triple := proc.Triple(runtime.GOOS, runtime.GOARCH)
		for _, s := range []string{"xgen-workflow", "xgen-embedding"} {
			if built.err = build(filepath.Join(built.dir, "binaries", s+"-"+triple), "./cmd/"+s, false); built.err != nil {
				return
			}
		}
		built.err = build(filepath.Join(built.dir, "outrigger"), ".", true)
	})
	if built.err != nil {
		t.Fatalf("build: %v", built.err)
	}
	return filepath.Join(built.dir, "outrigger"), filepath.Join(built.dir, "binaries")
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the module")
	}
	return filepath.Dir(mod), nil
}

func TestMain(m *testing.M) {
	undo := testutil.IsolateCgroup()
	code := m.Run()
	undo()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// running is one launch of the app.
type running struct {
	t    testing.TB
	cmd  *exec.Cmd
	home string
	exe  string
	done chan struct{}
	err  error

	mu   sync.Mutex
	log  bytes.Buffer
	pids map[string]int
	urls map[string]string
	wake chan struct{}
}

var (
	startedRe = regexp.MustCompile(`\bstarted sidecar=(\S+) pid=(\d+)`)
	readyRe   = regexp.MustCompile(`\bready sidecar=(\S+) url=(\S+)`)
)

// launch starts the app with its own OUTRIGGER_HOME, the stand-ins, free
// ports (so nothing else on the machine is in the way) and extra env.
func launch(t testing.TB, extraEnv ...string) *running {
	t.Helper()
	return launchIn(t, "service", extraEnv...)
}

// launchIn is launch with the mode the app starts in.
func launchIn(t testing.TB, mode string, extraEnv ...string) *running {
	t.Helper()
	return launchWith(t, mode, nil, extraEnv...)
}

// launchWith is launchIn with command-line arguments.
func launchWith(t testing.TB, mode string, args []string, extraEnv ...string) *running {
	t.Helper()
	app, binDir := binaries(t)
	home := t.TempDir()
	toml := fmt.Sprintf("mode = \"%s\"\n\n[[sidecar]]\nname = \"xgen-workflow\"\nport = %d\n\n[[sidecar]]\nname = \"xgen-embedding\"\nport = %d\n",
		mode, freePort(t), freePort(t))
	if err := os.WriteFile(filepath.Join(home, "outrigger.toml"), []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	r := &running{t: t, home: home, exe: app, done: make(chan struct{}), pids: map[string]int{}, urls: map[string]string{},
		wake: make(chan struct{}, 1)}
	r.cmd = exec.Command(app, args...)
	r.cmd.Env = append(os.Environ(), "OUTRIGGER_HOME="+home, "OUTRIGGER_BINARIES="+binDir, "NO_COLOR=1")
	r.cmd.Env = append(r.cmd.Env, extraEnv...)
	stderr, err := r.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	r.cmd.Stdout = io.Discard
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", app, err)
	}
	go r.read(stderr)
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			_ = r.cmd.Process.Kill()
			<-r.done
		}
		if t.Failed() {
			t.Logf("app log:\n%s", r.logText())
		}
	})
	return r
}

func (r *running) read(rd io.Reader) {
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		r.mu.Lock()
		r.log.WriteString(line + "\n")
		if m := startedRe.FindStringSubmatch(line); m != nil {
			pid, _ := strconv.Atoi(m[2])
			r.pids[m[1]+"#"+m[2]] = pid
		}
		if m := readyRe.FindStringSubmatch(line); m != nil {
			r.urls[m[1]] = m[2]
		}
		r.mu.Unlock()
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
	r.err = r.cmd.Wait()
	close(r.done)
}

func (r *running) logText() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.log.String()
}

// waitReady waits until both stand-ins are reported Ready and answer
// their /health, and returns their URLs.
func (r *running) waitReady() map[string]string {
	r.t.Helper()
	deadline := time.After(upTimeout)
	for {
		r.mu.Lock()
		urls := map[string]string{}
		for k, v := range r.urls {
			urls[k] = v
		}
		r.mu.Unlock()
		if len(urls) == 2 {
			for name, u := range urls {
				resp, err := http.Get(u + "/health")
				if err != nil {
					r.t.Fatalf("%s reported ready but %s/health: %v", name, u, err)
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					r.t.Fatalf("%s/health: %d", u, resp.StatusCode)
				}
			}
			return urls
		}
		select {
		case <-r.wake:
		case <-r.done:
			r.t.Fatalf("the app exited before both sidecars were ready: %v", r.err)
		case <-deadline:
			r.t.Fatalf("sidecars not ready after %v (have %v)", upTimeout, urls)
		}
	}
}

// waitLog waits until the app's log has text.
func (r *running) waitLog(text string) {
	r.t.Helper()
	deadline := time.After(upTimeout)
	for !strings.Contains(r.logText(), text) {
		select {
		case <-r.wake:
		case <-r.done:
			r.t.Fatalf("the app exited before logging %q: %v", text, r.err)
		case <-deadline:
			r.t.Fatalf("no %q in the app's log after %v", text, upTimeout)
		}
	}
}

// sidecarPIDs are every sidecar process the app reported starting.
func (r *running) sidecarPIDs() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []int
	for _, p := range r.pids {
		out = append(out, p)
	}
	return out
}

// waitExit waits for the app to end and returns its exit code.
func (r *running) waitExit(timeout time.Duration) int {
	r.t.Helper()
	select {
	case <-r.done:
	case <-time.After(timeout):
		r.t.Fatalf("the app did not exit within %v", timeout)
	}
	if r.err == nil {
		return 0
	}
	if ee, ok := r.err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	r.t.Fatalf("wait: %v", r.err)
	return -1
}

// assertNothingLeft checks that no sidecar the app started, and no process
// of the app's executable (the guardian), is still alive.
func (r *running) assertNothingLeft() {
	r.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var alive []string
		for _, pid := range r.sidecarPIDs() {
			if processAlive(pid) {
				alive = append(alive, fmt.Sprintf("sidecar pid %d", pid))
			}
		}
		for _, pid := range pidsOfExe(r.exe) {
			alive = append(alive, fmt.Sprintf("outrigger pid %d", pid))
		}
		if len(alive) == 0 {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("left running after quit: %s", strings.Join(alive, ", "))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// processAlive: the pid exists and is not a zombie.
func processAlive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}

// pidsOfExe lists live processes running exe.
func pidsOfExe(exe string) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		target, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		if err != nil {
			continue
		}
		if strings.TrimSuffix(target, " (deleted)") == exe && processAlive(pid) {
			out = append(out, pid)
		}
	}
	return out
}

func freePort(t testing.TB) int {
	t.Helper()
	return testutil.FreePort(t)
}

// waitFile waits until path exists and is not empty.
func waitFile(t testing.TB, r *running, path string, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		if st, err := os.Stat(path); err == nil && st.Size() > 0 {
			return
		}
		select {
		case <-time.After(100 * time.Millisecond):
		case <-r.done:
			t.Fatalf("the app exited before writing %s: %v", path, r.err)
		case <-deadline:
			t.Fatalf("no %s after %v", path, timeout)
		}
	}
}

// checkPicture verifies the screenshot is a real picture of a window.
func checkPicture(t testing.TB, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b := img.Bounds()
	if b.Dx() < 400 || b.Dy() < 300 {
		t.Fatalf("screenshot is %v", b)
	}
	colours := map[[3]uint32]bool{}
	for y := b.Min.Y; y < b.Max.Y; y += 7 {
		for x := b.Min.X; x < b.Max.X; x += 7 {
			r, g, bb, _ := img.At(x, y).RGBA()
			colours[[3]uint32{r >> 8, g >> 8, bb >> 8}] = true
		}
	}
	if len(colours) < 10 {
		t.Fatalf("screenshot looks blank (%d colours)", len(colours))
	}
	return img
}

// The real app with the real stand-ins: both come up Ready, the window's
// picture is a real one (kept as an artefact outside the tree), SIGTERM
// takes the quit path, the exit code is 0 and no process is left.
func TestAppComesUpAndQuits(t *testing.T) {
	skipUnlessE2E(t)
	shot := filepath.Join(artefacts(t), "e2e-screenshot.png")
	r := launch(t, "OUTRIGGER_SCREENSHOT="+shot, "OUTRIGGER_TRAY=0")
	urls := r.waitReady()
	t.Logf("ready: %v", urls)
	waitFile(t, r, shot, upTimeout)
	checkPicture(t, shot)
	t.Logf("screenshot: %s", shot)
	if len(r.sidecarPIDs()) < 2 {
		t.Fatalf("sidecar pids from the log: %v", r.sidecarPIDs())
	}
	signalled := time.Now()
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := r.waitExit(60 * time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM", code)
	}
	t.Logf("exited %v after SIGTERM (a figure, not a check)", time.Since(signalled).Round(time.Millisecond))
	r.assertNothingLeft()
	if !strings.Contains(r.logText(), "quitting: stopping every sidecar") {
		t.Error("the log does not show the quit path")
	}
	r.assertNoRace()
}

// quitCleanly sends SIGTERM and checks the quit: exit code 0, no process
// left, no race or Fyne threading error in the log.
func (r *running) quitCleanly() {
	r.t.Helper()
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		r.t.Fatal(err)
	}
	if code := r.waitExit(60 * time.Second); code != 0 {
		r.t.Fatalf("exit code %d after SIGTERM", code)
	}
	r.assertNothingLeft()
	r.assertNoRace()
}

// assertNoRace fails when the app (built with OUTRIGGER_E2E_RACE=1, as
// scripts/test.sh does) reported a data race or a Fyne threading error.
func (r *running) assertNoRace() {
	r.t.Helper()
	if os.Getenv("OUTRIGGER_E2E_RACE") == "1" {
		r.t.Log("the app was built with -race")
	}
	log := r.logText()
	if strings.Contains(log, "WARNING: DATA RACE") {
		r.t.Errorf("the app's log has %q", "WARNING: DATA RACE")
	}
	// The whole run, the quit included: Fyne's own SIGINT/SIGTERM handler
	// can end the app loop while events still arrive (see ui/uithread).
	if strings.Contains(log, "Error in Fyne call thread") {
		r.t.Errorf("the app's log has %q", "Error in Fyne call thread")
	}
}

// BenchmarkIdleCPU measures the app's own CPU (not its sidecars') with
// the window open and nothing happening, as a share of one core: over the
// 30 s after both sidecars are Ready (%cpu-first30s: uptimes still tick
// every second), and over 30 s once they have run for a minute (%cpu-idle:
// the steady state, uptimes change once a minute).
func BenchmarkIdleCPU(b *testing.B) {
	skipUnlessE2E(b)
	for i := 0; i < b.N; i++ {
		r := launch(b, "OUTRIGGER_TRAY=0")
		measureIdle(b, r)
	}
}

// BenchmarkIdleCPUHidden is BenchmarkIdleCPU with the window hidden in the
// tray (outrigger --hidden, a tray host on the session bus).
func BenchmarkIdleCPUHidden(b *testing.B) {
	skipUnlessE2E(b)
	w := startFakeWatcher(b)
	for i := 0; i < b.N; i++ {
		r := launchWith(b, "service", []string{"--hidden"})
		w.menuOf(b)
		r.waitLog("started in the tray")
		measureIdle(b, r)
	}
}

// BenchmarkIdleCPUFloor is the floor under the two benchmarks above: a
// bare Fyne app with one static label (internal/tools/floorwindow), its
// window shown, then hidden with a tray icon, measured over the same
// window after the same settling. The app's figures above these are ours.
func BenchmarkIdleCPUFloor(b *testing.B) {
	skipUnlessE2E(b)
	exe := buildFloorWindow(b)
	startFakeWatcher(b) // the hidden floor's tray registers, as the app's does
	shownAndHidden(b, func(b *testing.B, hidden bool) {
		for i := 0; i < b.N; i++ {
			floor := startFloorWindow(b, exe, hidden)
			time.Sleep(5 * time.Second) // its first frames
			b.ReportMetric(cpuOver(b, floor.Process.Pid, idleWindow()), "%cpu-idle")
			_ = floor.Process.Signal(syscall.SIGTERM)
			_ = floor.Wait()
		}
	})
}

// shownAndHidden runs f as the sub-benchmarks "shown" and "hidden".
func shownAndHidden(b *testing.B, f func(b *testing.B, hidden bool)) {
	for _, hidden := range []bool{false, true} {
		name := "shown"
		if hidden {
			name = "hidden"
		}
		b.Run(name, func(b *testing.B) { f(b, hidden) })
	}
}

// BenchmarkIdleCPUAboveFloor runs the app and the floor window side by
// side and measures both over the same seconds, window shown and then
// hidden: what this machine does meanwhile (its cost per wake-up moves by
// several times over a day) weighs on both alike, so %cpu-above, the app's
// CPU less the floor's, is ours alone. The app's figure includes its two
// sidecars' supervision (probes, the sweep, their logs), not their own CPU.
func BenchmarkIdleCPUAboveFloor(b *testing.B) {
	skipUnlessE2E(b)
	exe := buildFloorWindow(b)
	w := startFakeWatcher(b)
	shownAndHidden(b, func(b *testing.B, hidden bool) {
		for i := 0; i < b.N; i++ {
			var r *running
			if hidden {
				r = launchWith(b, "service", []string{"--hidden"})
				w.menuOf(b)
				r.waitLog("started in the tray")
			} else {
				r = launch(b, "OUTRIGGER_TRAY=0")
			}
			floor := startFloorWindow(b, exe, hidden)
			r.waitReady()
			time.Sleep(time.Minute) // past the first minute: uptimes change once a minute from then on
			app, fl := cpuOverBoth(b, r.cmd.Process.Pid, floor.Process.Pid, idleWindow())
			b.ReportMetric(app, "%cpu-app")
			b.ReportMetric(fl, "%cpu-floor")
			b.ReportMetric(app-fl, "%cpu-above")
			_ = floor.Process.Signal(syscall.SIGTERM)
			_ = floor.Wait()
			_ = r.cmd.Process.Signal(syscall.SIGTERM)
			if code := r.waitExit(60 * time.Second); code != 0 {
				b.Fatalf("exit code %d", code)
			}
		}
	})
}

// buildFloorWindow builds internal/tools/floorwindow: a bare Fyne app with
// one static label, shown or hidden with a tray icon.
func buildFloorWindow(b *testing.B) string {
	root, err := moduleRoot()
	if err != nil {
		b.Fatal(err)
	}
	exe := filepath.Join(b.TempDir(), "floorwindow")
	build := exec.Command("go", "build", "-o", exe, "./internal/tools/floorwindow")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build floorwindow: %v\n%s", err, out)
	}
	return exe
}

// startFloorWindow starts the floor window and waits until it is up.
func startFloorWindow(b *testing.B, exe string, hidden bool) *exec.Cmd {
	cmd := exec.Command(exe, fmt.Sprintf("-hidden=%v", hidden))
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		b.Fatalf("floorwindow said %q", line)
	}
	return cmd
}

// cpuOverBoth is the CPU of two processes over the same d, each as a share
// of one core, summed over their threads' run time in nanoseconds
// (/proc/PID/task/*/schedstat; utime and stime count 10 ms ticks).
func cpuOverBoth(b *testing.B, pidA, pidB int, d time.Duration) (float64, float64) {
	a0, b0 := runNanos(b, pidA), runNanos(b, pidB)
	t0 := time.Now()
	time.Sleep(d)
	a1, b1 := runNanos(b, pidA), runNanos(b, pidB)
	ns := float64(time.Since(t0).Nanoseconds())
	return float64(a1-a0) / ns * 100, float64(b1-b0) / ns * 100
}

// runNanos is the time pid's threads have run, in nanoseconds.
func runNanos(b *testing.B, pid int) uint64 {
	n, err := cpustat.RunNanos(pid)
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// idleWindow is how long an idle CPU figure is measured over (30 s;
// OUTRIGGER_IDLE_SECONDS to change it).
func idleWindow() time.Duration {
	if s := os.Getenv("OUTRIGGER_IDLE_SECONDS"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			return time.Duration(n) * time.Second
		}
	}
	return 30 * time.Second
}

// cpuOver is pid's CPU over d, as a share of one core.
func cpuOver(b *testing.B, pid int, d time.Duration) float64 {
	c0, err := cpuTicks(pid)
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	time.Sleep(d)
	c1, err := cpuTicks(pid)
	if err != nil {
		b.Fatal(err)
	}
	return float64(c1-c0) / clockTicks / time.Since(t0).Seconds() * 100
}

// measureIdle reports r's CPU over a window after both sidecars are Ready
// and again after a minute, then quits it.
func measureIdle(b *testing.B, r *running) {
	window := idleWindow()
	measure := func(pid int) float64 { return cpuOver(b, pid, window) }
	r.waitReady()
	readyAt := time.Now()
	time.Sleep(2 * time.Second) // the first frames and probes
	pid := r.cmd.Process.Pid
	first := measure(pid)
	if wait := time.Minute - time.Since(readyAt) + 2*time.Second; wait > 0 {
		time.Sleep(wait)
	}
	steady := measure(pid)
	b.ReportMetric(first, "%cpu-first30s")
	b.ReportMetric(steady, "%cpu-idle")
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	if code := r.waitExit(60 * time.Second); code != 0 {
		b.Fatalf("exit code %d", code)
	}
}

// clockTicks is USER_HZ, 100 on every Linux we run on.
const clockTicks = 100

// cpuTicks is utime+stime of pid (all its threads) in clock ticks.
func cpuTicks(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	f := strings.Fields(s[i+2:])
	// Fields after ")": state(0) ... utime is field 14 of stat, index 11 here.
	u, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("parse %s", s)
	}
	return u + st, nil
}
