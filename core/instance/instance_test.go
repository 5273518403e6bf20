package instance

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
)

// The real-process tests run this test binary again: as a primary
// instance that serves until killed, or as a client that dials once.
const (
	helperEnv = "OUTRIGGER_INSTANCE_HELPER_DIR"
	dialEnv   = "OUTRIGGER_INSTANCE_DIAL"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(helperEnv); dir != "" {
		helper(dir)
		return
	}
	if addr := os.Getenv(dialEnv); addr != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, err := Dial(ctx, addr)
		if err != nil {
			fmt.Printf("refused: %v\n", err)
			os.Exit(0)
		}
		line, err := bufio.NewReader(c).ReadString('\n')
		fmt.Printf("connected: %q %v\n", line, err)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// helper acquires, says so on stdout and greets every connection.
func helper(dir string) {
	inst, err := Acquire(dir)
	if err != nil {
		fmt.Printf("error %v\n", err)
		os.Exit(3)
	}
	fmt.Println("primary")
	serveHello(inst.Listener())
	select {}
}

// serveHello answers every connection with "hello\n", concurrently, until
// the listener closes.
func serveHello(ln net.Listener) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				fmt.Fprintln(c, "hello")
			}()
		}
	}()
	return done
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

func mustAcquire(t *testing.T, dir string) *Instance {
	t.Helper()
	inst, err := Acquire(dir)
	if err != nil {
		t.Fatalf("Acquire: %v", err)
	}
	done := serveHello(inst.Listener())
	t.Cleanup(func() { inst.Close(); <-done })
	return inst
}

func hello(t *testing.T, addr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, addr)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != "hello\n" {
		t.Fatalf("read %q, %v", line, err)
	}
}

func TestSecondAcquireFindsThePrimary(t *testing.T) {
	dir := runtimeDir(t)
	first := mustAcquire(t, dir)
	if first.ReplacedStale() {
		t.Error("a fresh folder reported a stale socket")
	}
	second, err := Acquire(dir)
	if err != ErrRunning || second != nil {
		t.Fatalf("second Acquire = %v, %v; want nil, ErrRunning", second, err)
	}
	if Address(dir) != first.Path() {
		t.Errorf("Address %s, Path %s", Address(dir), first.Path())
	}
	hello(t, Address(dir))
}

// Many clients at once, some of them idle: each is served (the old
// one-line protocol served one connection at a time).
func TestConcurrentConnections(t *testing.T) {
	dir := runtimeDir(t)
	inst := mustAcquire(t, dir)
	var idle []net.Conn
	for range 20 {
		c, err := Dial(context.Background(), inst.Path())
		if err != nil {
			t.Fatal(err)
		}
		idle = append(idle, c) // never read
	}
	defer func() {
		for _, c := range idle {
			c.Close()
		}
	}()
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() { defer wg.Done(); hello(t, inst.Path()) }()
	}
	wg.Wait()
}

func TestPermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("mode bits do not apply on Windows")
	}
	dir := runtimeDir(t)
	if err := os.MkdirAll(dir, 0o755); err != nil { // too open: Acquire tightens it
		t.Fatal(err)
	}
	inst := mustAcquire(t, dir)
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

func TestCloseRemovesTheSocket(t *testing.T) {
	dir := runtimeDir(t)
	inst, err := Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := inst.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := os.Lstat(inst.Path()); runtime.GOOS != "windows" && !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("socket still there after Close: %v", err)
	}
	if err := inst.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := Dial(context.Background(), inst.Path()); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Dial after Close: %v, want ErrNotRunning", err)
	}
	next := mustAcquire(t, dir)
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
	return sock
}

func TestStaleSocketIsReplaced(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("pipes vanish with their process")
	}
	dir := runtimeDir(t)
	sock := staleSocket(t, dir)
	if _, err := Dial(context.Background(), sock); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Dial of a stale socket: %v, want ErrNotRunning", err)
	}
	inst := mustAcquire(t, dir)
	if !inst.ReplacedStale() {
		t.Error("ReplacedStale is false")
	}
	if inst.Path() != sock {
		t.Errorf("Path %s, want %s", inst.Path(), sock)
	}
	hello(t, sock)
}

// A primary whose lock file was deleted still answers on its socket: a new
// launch must defer to it, not take the socket over.
func TestLiveSocketWithoutLockIsNotReplaced(t *testing.T) {
	dir := runtimeDir(t)
	first := mustAcquire(t, dir)
	if err := os.Remove(filepath.Join(dir, LockName)); err != nil {
		t.Fatal(err)
	}
	if _, err := Acquire(dir); err != ErrRunning {
		t.Fatalf("Acquire: %v, want ErrRunning", err)
	}
	hello(t, first.Path())
}

func TestConcurrentLaunchesElectOne(t *testing.T) {
	dir := runtimeDir(t)
	const n = 8
	var (
		mu        sync.Mutex
		primaries []*Instance
		wg        sync.WaitGroup
		errs      = make(chan error, n)
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			inst, err := Acquire(dir)
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
	primaries[0].Close()
}

func TestDialNothing(t *testing.T) {
	dir := runtimeDir(t)
	if _, err := Dial(context.Background(), Address(dir)); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Dial with no instance: %v, want ErrNotRunning", err)
	}
}

// startHelper runs a primary in another process and waits until it says so.
func startHelper(t *testing.T, dir string) *exec.Cmd {
	t.Helper()
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
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	said := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		said <- line
	}()
	select {
	case l := <-said:
		if l != "primary\n" {
			t.Fatalf("helper said %q", l)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("helper did not become primary within 30s")
	}
	return cmd
}

// TestKilledPrimaryIsReplaced runs a real primary in another process,
// checks a launch defers to it, kills it with SIGKILL (no cleanup at all),
// and checks the next launch becomes primary over its stale socket.
func TestKilledPrimaryIsReplaced(t *testing.T) {
	dir := runtimeDir(t)
	cmd := startHelper(t, dir)
	if _, err := Acquire(dir); err != ErrRunning {
		t.Fatalf("Acquire while the helper runs: %v, want ErrRunning", err)
	}
	hello(t, Address(dir))
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	cmd.Wait()
	if runtime.GOOS != "windows" {
		if _, err := os.Lstat(filepath.Join(dir, SocketName)); err != nil {
			t.Fatalf("the killed primary's socket is gone (%v); the test proves nothing", err)
		}
	}
	if _, err := Dial(context.Background(), Address(dir)); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Dial after kill -9: %v, want ErrNotRunning", err)
	}
	inst := mustAcquire(t, dir)
	if runtime.GOOS != "windows" && !inst.ReplacedStale() {
		t.Error("ReplacedStale is false after kill -9")
	}
	hello(t, inst.Path())
}

func TestEmptyRuntimeDir(t *testing.T) {
	if _, err := Acquire(""); err == nil {
		t.Fatal("Acquire with no folder succeeded")
	}
}
