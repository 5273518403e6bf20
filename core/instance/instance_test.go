package instance

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// The real-process test runs this test binary again as a primary instance
// that blocks until it is killed.
const helperEnv = "OUTRIGGER_INSTANCE_HELPER_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(helperEnv); dir != "" {
		helper(dir)
		return
	}
	os.Exit(m.Run())
}

// helper acquires, says so on stdout, prints each message it gets, and
// blocks.
func helper(dir string) {
	var mu sync.Mutex
	_, err := Acquire(dir, func(msg string) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Printf("message %s\n", msg)
	})
	if err != nil {
		fmt.Printf("error %v\n", err)
		os.Exit(3)
	}
	mu.Lock()
	fmt.Println("primary")
	mu.Unlock()
	select {}
}

// runtimeDir is a short folder for the socket (paths are limited to about
// 104 bytes; t.TempDir can be longer on macOS).
func runtimeDir(t *testing.T) string {
	t.Helper()
	base, err := os.MkdirTemp("", "oi")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	return filepath.Join(base, "run")
}

func mustAcquire(t *testing.T, dir string, on func(string)) *Instance {
	t.Helper()
	inst, err := Acquire(dir, on)
	if err != nil {
		t.Fatalf("Acquire: %v", err)
	}
	t.Cleanup(func() { inst.Close() })
	return inst
}

func waitMessage(t *testing.T, ch <-chan string, want string) {
	t.Helper()
	select {
	case got := <-ch:
		if got != want {
			t.Fatalf("message %q, want %q", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no %q message within 5s", want)
	}
}

func TestSecondAcquireShowsThePrimary(t *testing.T) {
	dir := runtimeDir(t)
	msgs := make(chan string, 4)
	first := mustAcquire(t, dir, func(m string) { msgs <- m })
	if first.ReplacedStale() {
		t.Error("a fresh folder reported a stale socket")
	}

	second, err := Acquire(dir, func(string) { t.Error("the second instance got a message") })
	if !errors.Is(err, ErrRunning) || second != nil {
		t.Fatalf("second Acquire = %v, %v; want nil, ErrRunning", second, err)
	}
	if err != ErrRunning {
		t.Errorf("second Acquire: %v, want plain ErrRunning (the message was delivered)", err)
	}
	waitMessage(t, msgs, ShowMessage)

	// The handler has returned before the sender is answered.
	_, err = Acquire(dir, nil)
	if err != ErrRunning {
		t.Fatalf("third Acquire: %v", err)
	}
	select {
	case m := <-msgs:
		if m != ShowMessage {
			t.Fatalf("message %q", m)
		}
	default:
		t.Fatal("Acquire returned before the primary's handler ran")
	}
}

func TestPermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("mode bits do not apply on Windows")
	}
	dir := runtimeDir(t)
	if err := os.MkdirAll(dir, 0o755); err != nil { // too open: Acquire tightens it
		t.Fatal(err)
	}
	inst := mustAcquire(t, dir, nil)
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if p := fi.Mode().Perm(); p != 0o700 {
		t.Errorf("runtime folder mode %o, want 700", p)
	}
	fi, err = os.Lstat(inst.Path())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		t.Errorf("%s is %v, want a socket", inst.Path(), fi.Mode())
	}
	if p := fi.Mode().Perm(); p != 0o600 {
		t.Errorf("socket mode %o, want 600", p)
	}
	fi, err = os.Stat(filepath.Join(dir, LockName))
	if err != nil {
		t.Fatal(err)
	}
	if p := fi.Mode().Perm(); p&0o077 != 0 {
		t.Errorf("lock file mode %o, want owner-only", p)
	}
}

func TestCloseRemovesTheSocketAndEnds(t *testing.T) {
	dir := runtimeDir(t)
	inst, err := Acquire(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := inst.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case <-inst.done:
	default:
		t.Error("the serving goroutine is still running after Close")
	}
	if _, err := os.Lstat(inst.Path()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("socket still there after Close: %v", err)
	}
	if err := inst.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	// The next launch is primary, with nothing stale to replace.
	next := mustAcquire(t, dir, nil)
	if next.ReplacedStale() {
		t.Error("a cleanly closed instance left a stale socket")
	}
}

// staleSocket leaves a socket file nobody listens on, as a killed
// instance does.
func staleSocket(t *testing.T, dir string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, SocketName)
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	if _, err := os.Lstat(sock); err != nil {
		t.Fatalf("the stale socket file is gone: %v", err)
	}
	if c, err := net.Dial("unix", sock); err == nil {
		c.Close()
		t.Fatal("a closed listener's socket accepts connections")
	}
	return sock
}

func TestStaleSocketIsReplaced(t *testing.T) {
	dir := runtimeDir(t)
	sock := staleSocket(t, dir)
	msgs := make(chan string, 1)
	inst := mustAcquire(t, dir, func(m string) { msgs <- m })
	if !inst.ReplacedStale() {
		t.Error("ReplacedStale is false")
	}
	if inst.Path() != sock {
		t.Errorf("Path %s, want %s", inst.Path(), sock)
	}
	if _, err := Acquire(dir, nil); err != ErrRunning {
		t.Fatalf("Acquire after replacing: %v, want ErrRunning", err)
	}
	waitMessage(t, msgs, ShowMessage)
}

// A primary whose lock file was deleted still answers on its socket: a new
// launch must defer to it, not take the socket over.
func TestLiveSocketWithoutLockIsNotReplaced(t *testing.T) {
	dir := runtimeDir(t)
	msgs := make(chan string, 1)
	first := mustAcquire(t, dir, func(m string) { msgs <- m })
	if err := os.Remove(filepath.Join(dir, LockName)); err != nil {
		t.Fatal(err)
	}
	if _, err := Acquire(dir, nil); err != ErrRunning {
		t.Fatalf("Acquire: %v, want ErrRunning", err)
	}
	waitMessage(t, msgs, ShowMessage)
	if _, err := os.Lstat(first.Path()); err != nil {
		t.Errorf("the live socket was removed: %v", err)
	}
}

func TestConcurrentLaunchesElectOne(t *testing.T) {
	dir := runtimeDir(t)
	const n = 8
	var (
		mu        sync.Mutex
		got       int
		primaries []*Instance
		wg        sync.WaitGroup
		errs      = make(chan error, n)
	)
	on := func(string) { mu.Lock(); got++; mu.Unlock() }
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			inst, err := Acquire(dir, on)
			if err == nil {
				mu.Lock()
				primaries = append(primaries, inst)
				mu.Unlock()
				return
			}
			if err != ErrRunning {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if len(primaries) != 1 {
		t.Fatalf("%d primaries, want 1", len(primaries))
	}
	defer primaries[0].Close()
	mu.Lock()
	defer mu.Unlock()
	if got != n-1 {
		t.Errorf("primary got %d messages, want %d", got, n-1)
	}
}

func exchange(t *testing.T, sock, send string) string {
	t.Helper()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, send); err != nil {
		t.Fatal(err)
	}
	reply, err := bufio.NewReader(c).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	return reply
}

func TestProtocol(t *testing.T) {
	old := ioTimeout
	ioTimeout = 200 * time.Millisecond
	t.Cleanup(func() { ioTimeout = old })

	dir := runtimeDir(t)
	msgs := make(chan string, 4)
	inst := mustAcquire(t, dir, func(m string) { msgs <- m })

	if r := exchange(t, inst.Path(), "show\n"); r != "ok\n" {
		t.Errorf("reply %q, want ok", r)
	}
	waitMessage(t, msgs, "show")
	if r := exchange(t, inst.Path(), "ping\r\n"); r != "ok\n" {
		t.Errorf("reply %q, want ok", r)
	}
	waitMessage(t, msgs, "ping")
	if r := exchange(t, inst.Path(), strings.Repeat("x", MaxMessage+10)+"\n"); !strings.HasPrefix(r, "error") {
		t.Errorf("an overlong line got %q, want an error", r)
	}

	// A client that connects and says nothing holds the primary up for
	// ioTimeout at most.
	idle, err := net.Dial("unix", inst.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	start := time.Now()
	if r := exchange(t, inst.Path(), "show\n"); r != "ok\n" {
		t.Errorf("reply %q after an idle client, want ok", r)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("an idle client held the primary for %v", d)
	}
	waitMessage(t, msgs, "show")
	select {
	case m := <-msgs:
		t.Errorf("unexpected message %q", m)
	default:
	}
}

// TestKilledPrimaryIsReplaced runs a real primary in another process,
// checks a launch defers to it, kills it with SIGKILL (no cleanup at all),
// and checks the next launch becomes primary over its stale socket.
func TestKilledPrimaryIsReplaced(t *testing.T) {
	dir := runtimeDir(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	t.Cleanup(func() {
		if !killed {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	lines := make(chan string, 8)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	expect := func(want string) {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok || l != want {
				t.Fatalf("helper said %q (open %v), want %q", l, ok, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("helper did not say %q within 10s", want)
		}
	}
	expect("primary")

	if _, err := Acquire(dir, nil); err != ErrRunning {
		t.Fatalf("Acquire while the helper runs: %v, want ErrRunning", err)
	}
	expect("message show")

	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	cmd.Wait()
	killed = true
	if _, err := os.Lstat(filepath.Join(dir, SocketName)); err != nil {
		t.Fatalf("the killed primary's socket is gone (%v); the test proves nothing", err)
	}

	msgs := make(chan string, 1)
	inst := mustAcquire(t, dir, func(m string) { msgs <- m })
	if !inst.ReplacedStale() {
		t.Error("ReplacedStale is false after kill -9")
	}
	if _, err := Acquire(dir, nil); err != ErrRunning {
		t.Fatalf("Acquire after the new primary: %v", err)
	}
	waitMessage(t, msgs, ShowMessage)
}

func TestEmptyRuntimeDir(t *testing.T) {
	if _, err := Acquire("", nil); err == nil {
		t.Fatal("Acquire with no folder succeeded")
	}
}
