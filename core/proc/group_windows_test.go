//go:build windows

package proc_test

// Real processes on Windows (run under Wine in CI by scripts/test-windows.sh):
// the creation flags, the suspended start, the job holding a grandchild
// spawned at once, CTRL_BREAK_EVENT as the graceful stop, kill-on-close.

import (
	"bufio"
	"errors"
	"io"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"

	"outrigger/core/proc"
	"outrigger/internal/testutil"
)

func TestMain(m *testing.M) { testutil.RunMain(m) }

const wait = 30 * time.Second

// started is a fixture started the way the supervisor starts a sidecar.
type started struct {
	cmd    *exec.Cmd
	tree   *proc.Tree
	lines  chan string // its stdout, line by line
	waited chan error  // Wait's result, once
}

// startFixture runs the fixture with args through Prepare, Start and (when
// attach) Attach; before is called between Start and Attach.
func startFixture(t *testing.T, attach bool, before func(pid int), args ...string) *started {
	t.Helper()
	var cmd *exec.Cmd
	var out io.ReadCloser
	for try := 1; ; try++ {
		cmd = exec.Command(testutil.BuildFixture(t), args...)
		var err error
		if out, err = cmd.StdoutPipe(); err != nil {
			t.Fatal(err)
		}
		proc.Prepare(cmd)
		err = cmd.Start()
		if err == nil {
			break
		}
		// Wine 8's CreateProcess failed once in about 45 runs of these
		// tests on a loaded machine with ERROR_INTERNAL_ERROR ("Internal
		// error."), the process never made. A supervisor would restart
		// it; a test tries once more.
		if try == 1 && errors.Is(err, windows.ERROR_INTERNAL_ERROR) {
			t.Logf("start: %v; trying again", err)
			continue
		}
		t.Fatalf("start: %v", err)
	}
	s := &started{cmd: cmd, lines: make(chan string, 64), waited: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case s.lines <- sc.Text():
			default: // nobody is reading: the tests wait for early lines only
			}
		}
		_, _ = io.Copy(io.Discard, out)
		s.waited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		if s.tree != nil {
			_ = s.tree.Kill()
			_ = s.tree.Close()
		}
		select {
		case <-s.waited:
		case <-time.After(wait):
			t.Errorf("fixture pid %d not reaped", cmd.Process.Pid)
		}
	})
	if before != nil {
		before(cmd.Process.Pid)
	}
	if attach {
		tree, err := proc.Attach(cmd)
		if err != nil {
			t.Fatalf("Attach: %v", err)
		}
		s.tree = tree
	}
	return s
}

// line waits for a stdout line matching re and returns its submatches.
func (s *started) line(t *testing.T, re string) []string {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.After(wait)
	for {
		select {
		case l := <-s.lines:
			if m := rx.FindStringSubmatch(l); m != nil {
				return m
			}
		case <-deadline:
			t.Fatalf("no stdout line matching %q", re)
		}
	}
}

func (s *started) exitCode(t *testing.T) int {
	t.Helper()
	select {
	case err := <-s.waited:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatalf("wait: %v", err)
		}
		s.waited <- err // for the cleanup
		return s.cmd.ProcessState.ExitCode()
	case <-time.After(wait):
		t.Fatalf("fixture did not exit")
		return 0
	}
}

func TestWindowsCreationFlags(t *testing.T) {
	cmd := exec.Command("fixture.exe")
	proc.Prepare(cmd)
	for _, f := range []struct {
		name string
		flag uint32
	}{
		{"CREATE_NO_WINDOW", windows.CREATE_NO_WINDOW},
		{"CREATE_NEW_PROCESS_GROUP", windows.CREATE_NEW_PROCESS_GROUP},
		{"CREATE_SUSPENDED", windows.CREATE_SUSPENDED},
	} {
		if cmd.SysProcAttr.CreationFlags&f.flag == 0 {
			t.Errorf("Prepare leaves out %s (flags %#x)", f.name, cmd.SysProcAttr.CreationFlags)
		}
	}
	for _, bad := range []uint32{windows.CREATE_NEW_CONSOLE, windows.DETACHED_PROCESS} {
		if cmd.SysProcAttr.CreationFlags&bad != 0 {
			t.Errorf("flag %#x would make CREATE_NO_WINDOW ignored or leave no console for CTRL_BREAK", bad)
		}
	}
}

var (
	kernel32             = windows.NewLazySystemDLL("kernel32.dll")
	procAttachConsole    = kernel32.NewProc("AttachConsole")
	procFreeConsole      = kernel32.NewProc("FreeConsole")
	procGetConsoleWindow = kernel32.NewProc("GetConsoleWindow")
	procSuspendThread    = kernel32.NewProc("SuspendThread")
	procIsProcessInJob   = kernel32.NewProc("IsProcessInJob")
)

// TestWindowsConsoleWithoutWindow: the sidecar has a console (or CTRL_BREAK
// could not reach it) and that console has no window (nothing flashes up).
func TestWindowsConsoleWithoutWindow(t *testing.T) {
	s := startFixture(t, true, nil, "-no-listen", "-stderr-line", "up")
	pid := s.cmd.Process.Pid
	// Attaching changes this process's console: not in parallel with
	// anything that sends CTRL_BREAK (no test here runs in parallel).
	procFreeConsole.Call()
	var attachErr error
	var window uintptr
	testutil.Eventually(t, wait, func() bool {
		r, _, err := procAttachConsole.Call(uintptr(pid))
		if r == 0 {
			attachErr = err
			return false
		}
		window, _, _ = procGetConsoleWindow.Call()
		procFreeConsole.Call()
		return true
	}, "attach to the console of sidecar %d (last error: %v)", pid, attachErr)
	if window != 0 {
		t.Errorf("the sidecar's console has a window (%#x): CREATE_NO_WINDOW missing", window)
	}
}

// TestWindowsStartsSuspendedUntilAttached: between Start and Attach the
// child has not run one instruction, so nothing it spawns can be created
// outside its job.
func TestWindowsStartsSuspendedUntilAttached(t *testing.T) {
	var suspendCount uint32
	s := startFixture(t, true, func(pid int) {
		suspendCount = mainThreadSuspendCount(t, pid)
	}, "-no-listen", "-stderr-line", "up")
	if suspendCount != 1 {
		t.Fatalf("main thread suspend count before Attach = %d, want 1 (CREATE_SUSPENDED)", suspendCount)
	}
	if got := mainThreadSuspendCount(t, s.cmd.Process.Pid); got != 0 {
		t.Fatalf("suspend count after Attach = %d, want 0 (resumed)", got)
	}
}

// mainThreadSuspendCount reads the suspend count of pid's first thread
// (SuspendThread returns the previous count; ResumeThread undoes it).
func mainThreadSuspendCount(t *testing.T, pid int) uint32 {
	t.Helper()
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPTHREAD, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer windows.CloseHandle(snap)
	te := windows.ThreadEntry32{Size: uint32(unsafe.Sizeof(windows.ThreadEntry32{}))}
	for err = windows.Thread32First(snap, &te); err == nil; err = windows.Thread32Next(snap, &te) {
		if te.OwnerProcessID != uint32(pid) {
			continue
		}
		th, err := windows.OpenThread(windows.THREAD_SUSPEND_RESUME, false, te.ThreadID)
		if err != nil {
			t.Fatal(err)
		}
		defer windows.CloseHandle(th)
		prev, _, err := procSuspendThread.Call(uintptr(th))
		if int32(prev) == -1 {
			t.Fatalf("SuspendThread: %v", err)
		}
		if _, err := windows.ResumeThread(th); err != nil {
			t.Fatal(err)
		}
		return uint32(prev)
	}
	t.Fatalf("no thread of pid %d", pid)
	return 0
}

// TestWindowsGrandchildInJob: the PyInstaller --onefile shape spawns its
// server at once; ending the job ends both.
func TestWindowsGrandchildInJob(t *testing.T) {
	s := startFixture(t, true, nil, "-fork-grandchild", "-no-listen")
	m := s.line(t, `parent (\d+) started grandchild (\d+)`)
	grandchild, _ := strconv.Atoi(m[2])
	if !inJob(t, grandchild) {
		t.Errorf("grandchild %d is in no job", grandchild)
	}
	begin := time.Now()
	if err := s.tree.Kill(); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	testutil.Eventually(t, wait, func() bool {
		return !testutil.ProcessAlive(s.cmd.Process.Pid) && !testutil.ProcessAlive(grandchild)
	}, "parent %d and grandchild %d gone after Kill", s.cmd.Process.Pid, grandchild)
	t.Logf("figure: kill of the job -> no process left in %v", time.Since(begin).Round(time.Millisecond))
}

func inJob(t *testing.T, pid int) bool {
	t.Helper()
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_INFORMATION, false, uint32(pid))
	if err != nil {
		t.Fatalf("open %d: %v", pid, err)
	}
	defer windows.CloseHandle(h)
	var in int32
	if r, _, err := procIsProcessInJob.Call(uintptr(h), 0, uintptr(unsafe.Pointer(&in))); r == 0 {
		t.Fatalf("IsProcessInJob %d: %v", pid, err)
	}
	return in != 0
}

// TestWindowsCtrlBreakIsGraceful: Terminate reaches the sidecar's handler
// (Go sees os.Interrupt), which exits 0 on its own.
func TestWindowsCtrlBreakIsGraceful(t *testing.T) {
	s := startFixture(t, true, nil, "-no-listen", "-lines-per-sec", "20")
	s.line(t, `^line 000001`) // its signal handler is installed by now
	begin := time.Now()
	if err := s.tree.Terminate(); err != nil {
		if !errors.Is(err, proc.ErrNotGraceful) {
			t.Fatalf("Terminate: %v", err)
		}
		// The event could not be sent: the job must have been ended instead.
		if code := s.exitCode(t); code != 1 {
			t.Fatalf("exit code after the fallback = %d, want 1 (TerminateJobObject)", code)
		}
		t.Skipf("CTRL_BREAK_EVENT cannot be sent here (Wine 8 lacks it); checked the fallback instead: %v", err)
	}
	if code := s.exitCode(t); code != 0 {
		t.Fatalf("exit code after CTRL_BREAK = %d, want 0 (its own clean exit)", code)
	}
	t.Logf("figure: CTRL_BREAK -> exited in %v", time.Since(begin).Round(time.Millisecond))
}

// TestWindowsKillOnClose: closing the last handle to the job — what
// happens when the app dies in any way — ends the tree.
func TestWindowsKillOnClose(t *testing.T) {
	s := startFixture(t, true, nil, "-fork-grandchild", "-no-listen")
	m := s.line(t, `parent (\d+) started grandchild (\d+)`)
	grandchild, _ := strconv.Atoi(m[2])
	tree := s.tree
	s.tree = nil
	if err := tree.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	testutil.Eventually(t, wait, func() bool {
		return !testutil.ProcessAlive(s.cmd.Process.Pid) && !testutil.ProcessAlive(grandchild)
	}, "tree gone once its job's last handle closed")
}
