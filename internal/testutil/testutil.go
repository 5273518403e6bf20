// Package testutil holds helpers shared by the tests of other packages:
// building helper binaries (the fixture sidecar, the stand-ins), laying them
// out the way the supervisor resolves sidecars, free ports, polling, and
// process liveness. It imports nothing GUI-related so that it builds with
// CGO_ENABLED=0 on every target.
package testutil

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"outrigger/core/proc"
)

// FixtureImportPath is the test-fixture sidecar built by BuildFixture.
const FixtureImportPath = "outrigger/internal/fixture"

// Triple returns the target triple of this platform (proc.HostTriple), the
// suffix sidecar binaries are named with.
func Triple() string { return proc.HostTriple() }

// ExeSuffix is ".exe" on Windows and "" elsewhere.
func ExeSuffix() string { return proc.ExeSuffix() }

// build state shared by every test in the process: one temp dir, one build
// per import path no matter how many (parallel) tests ask for it.
var (
	buildMu   sync.Mutex
	buildDir  string
	buildDirE error
	builds    = map[string]*buildResult{}
)

type buildResult struct {
	once sync.Once
	path string
	err  error
}

// buildCount counts go build runs per import path and name (under buildMu):
// it lets a test see a rebuild, which comparing returned paths cannot.
var buildCount = map[string]int{}

// BuildFixture builds outrigger/internal/fixture once per test process and
// returns the path of the binary.
func BuildFixture(t testing.TB) string {
	t.Helper()
	return BuildBinary(t, FixtureImportPath, "fixture")
}

// BuildBinary builds the main package importPath (e.g.
// "outrigger/cmd/xgen-embedding") once per test process, as name (+ .exe on
// Windows), into a temp dir that lives as long as the process (RunMain
// removes it). The build uses CGO_ENABLED=0: the helper binaries are pure
// Go, and skipping cgo keeps the build fast and the binaries static.
func BuildBinary(t testing.TB, importPath, name string) string {
	t.Helper()
	if dir := os.Getenv(PrebuiltEnv); dir != "" {
		return prebuilt(t, dir, name)
	}
	buildMu.Lock()
	if buildDir == "" && buildDirE == nil {
		buildDir, buildDirE = os.MkdirTemp("", "outrigger-testbin-")
	}
	dir, dirErr := buildDir, buildDirE
	key := importPath + "\x00" + name
	r := builds[key]
	if r == nil {
		r = &buildResult{}
		builds[key] = r
	}
	buildMu.Unlock()
	if dirErr != nil {
		t.Fatalf("testutil: temp dir for builds: %v", dirErr)
	}
	r.once.Do(func() {
		buildMu.Lock()
		buildCount[key]++
		buildMu.Unlock()
		r.path, r.err = goBuild(dir, importPath, name)
	})
	if r.err != nil {
		t.Fatalf("testutil: build %s: %v", importPath, r.err)
	}
	return r.path
}

func goBuild(dir, importPath, name string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, name+ExeSuffix())
	// "go" is found on PATH: `go test` puts its own GOROOT/bin first.
	cmd := exec.Command("go", "build", "-o", out, importPath)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%v\n%s", err, buf.String())
	}
	return out, nil
}

// moduleRoot asks the go command where go.mod is, so builds work from any
// package directory the test runs in.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %v", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("not inside a module (GOMOD=%q)", gomod)
	}
	return filepath.Dir(gomod), nil
}

// RunMain runs the tests in a cgroup of their own (IsolateCgroup) and then
// removes the builds' temp dir. Use it from TestMain:
// func TestMain(m *testing.M) { testutil.RunMain(m) }.
func RunMain(m *testing.M) {
	undo := IsolateCgroup()
	code := m.Run()
	undo()
	buildMu.Lock()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	buildMu.Unlock()
	os.Exit(code)
}

// buildRuns is how many times importPath was built as name in this process.
func buildRuns(importPath, name string) int {
	buildMu.Lock()
	defer buildMu.Unlock()
	return buildCount[importPath+"\x00"+name]
}

// BinDir returns a fresh t.TempDir() holding the fixture as
// "{name}-{triple}{exe}" for each name, i.e. a binaries folder in which the
// supervisor resolves those sidecars to the fixture.
func BinDir(t testing.TB, names ...string) string {
	t.Helper()
	src := BuildFixture(t)
	dir := TempDir(t)
	for _, n := range names {
		dst := filepath.Join(dir, n+"-"+Triple()+ExeSuffix())
		if err := linkOrCopy(src, dst); err != nil {
			t.Fatalf("testutil: BinDir %s: %v", n, err)
		}
	}
	return dir
}

// linkOrCopy hard-links (cheap, same file system in the common case) and
// falls back to copying across file systems.
func linkOrCopy(src, dst string) error {
	if os.Link(src, dst) == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago and
// that the kernel does not hand out by itself. A port from "127.0.0.1:0" lies
// in the ephemeral range, where any outgoing connection on the machine may
// take it as its local port before the test uses it: on a busy machine that
// made a sidecar's own port look "busy". Ports below the ephemeral range are
// only ever taken by someone who asks for them by number, so a random one
// there collides only with another test that picked the same number.
//
// A port is never handed out twice in one test binary: two specs built one
// after the other in the same test would otherwise get the same number about
// once in ten thousand calls (the first was free again the moment its probe
// closed), and a supervisor refuses two sidecars on one port. That made
// TestConcurrentRandomTransitions fail one CI run. Nor, on Unix, is it
// handed to two test binaries running at once (claimPort).
func FreePort(t testing.TB) int {
	t.Helper()
	lo, hi := 20000, ephemeralStart()
	if hi-lo < 1000 {
		lo, hi = 10000, 20000
	}
	handedOut.Lock()
	defer handedOut.Unlock()
	for range 200 {
		port := lo + rand.IntN(hi-lo)
		if handedOut.ports[port] || !claimPort(port) {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err == nil {
			l.Close()
			handedOut.ports[port] = true
			return port
		}
	}
	t.Fatalf("testutil: FreePort: no free port in [%d, %d) after 200 tries", lo, hi)
	return 0
}

// handedOut holds every port FreePort has returned in this process.
var handedOut = struct {
	sync.Mutex
	ports map[int]bool
}{ports: map[int]bool{}}

// ephemeralStart is the first port of the kernel's ephemeral range (Linux:
// ip_local_port_range; 32768 where it cannot be read: Linux's default, and
// below Windows' and macOS's 49152).
func ephemeralStart() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				return n
			}
		}
	}
	return 32768
}

// Eventually polls cond every 10 ms until it returns true, failing the test
// if it has not done so within timeout. msgAndArgs is an optional format
// string and its arguments describing what was awaited.
func Eventually(t testing.TB, timeout time.Duration, cond func() bool, msgAndArgs ...any) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			// One last look: the deadline may have passed while cond ran.
			if cond() {
				return
			}
			t.Fatalf("testutil: condition not met within %v: %s", timeout, describe(msgAndArgs))
		}
		<-tick.C
	}
}

func describe(msgAndArgs []any) string {
	if len(msgAndArgs) == 0 {
		return "(no description)"
	}
	if f, ok := msgAndArgs[0].(string); ok {
		return fmt.Sprintf(f, msgAndArgs[1:]...)
	}
	return fmt.Sprint(msgAndArgs...)
}

// PeakRSS is a process's peak resident set size in bytes (VmHWM in
// /proc/PID/status; Linux), for tests that bound a process's memory.
func PeakRSS(t testing.TB, pid int) int64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmHWM:" && f[2] == "kB" {
			var kb int64
			if _, err := fmt.Sscan(f[1], &kb); err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/PID/status")
	return 0
}

// CopyExecutable copies the file src to dst (replacing it) with mode 0755:
// tests that run a copy of a binary from another place.
func CopyExecutable(t testing.TB, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o755); err != nil {
		t.Fatal(err)
	}
}

// Unzip reads a zip archive (a diagnostics report) into its entries' names
// and contents.
func Unzip(t testing.TB, data []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("testutil: not a zip: %v", err)
	}
	out := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatalf("testutil: %s: %v", f.Name, err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("testutil: %s: %v", f.Name, err)
		}
		out[f.Name] = b
	}
	return out
}

// NeedCgroups skips a test of what only a cgroup per run can do: hold a
// daemon that clears its environment (the run token) and escapes at once.
func NeedCgroups(t testing.TB) {
	t.Helper()
	if ok, why := proc.CgroupsInUse(); !ok {
		t.Skipf("no cgroup v2 per run on this system (%s): the fallback (group + token) cannot hold a daemon that clears its environment", why)
	}
}
