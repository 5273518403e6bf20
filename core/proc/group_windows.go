//go:build windows

package proc

import (
	"errors"
	"fmt"
	"os/exec"
	"sync"
	"unsafe"

	"golang.org/x/sys/windows"
)

// CreationFlags are the process-creation flags every sidecar starts with:
//
//   - CREATE_NO_WINDOW: the app is a GUI program; a console sidecar (a
//     PyInstaller binary, uvicorn) would otherwise flash a console window
//     up at every start. The child still gets a console, only without a
//     window, so console control events can reach it.
//   - CREATE_NEW_PROCESS_GROUP: the child leads a process group of its own,
//     the target of the CTRL_BREAK_EVENT that Terminate sends.
//   - CREATE_SUSPENDED: not one instruction of the child runs before Attach
//     has put it in its job object. Any process it creates after that is in
//     the job from birth, so even a bootloader that spawns its server at once
//     (PyInstaller --onefile) cannot leave a grandchild outside the job.
const CreationFlags = windows.CREATE_NO_WINDOW | windows.CREATE_NEW_PROCESS_GROUP | windows.CREATE_SUSPENDED

// Prepare sets CreationFlags on cmd. The child starts suspended: the caller
// must call Attach right after cmd.Start, which resumes it.
func Prepare(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &windows.SysProcAttr{}
	}
	cmd.SysProcAttr.CreationFlags |= CreationFlags
	// The sidecar's console has no window; asking for one would be ignored
	// with CREATE_NO_WINDOW anyway.
	cmd.SysProcAttr.HideWindow = true
}

// Tree is a started process and the job object holding it and everything
// it starts.
type Tree struct {
	PID  int
	PGID int // the process group the child leads: its pid
	job  windows.Handle
}

// Attach puts the suspended child (see Prepare) into a new job object with
// kill-on-close, then lets it run. When the last handle to the job closes —
// also when this process dies in any way, kill -9 included — Windows ends
// every process in the job. On error the child is still suspended; the
// caller ends it.
func Attach(cmd *exec.Cmd) (*Tree, error) {
	pid := cmd.Process.Pid
	job, err := newKillOnCloseJob()
	if err != nil {
		return nil, err
	}
	h, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE, false, uint32(pid))
	if err != nil {
		windows.CloseHandle(job)
		return nil, fmt.Errorf("open process %d: %w", pid, err)
	}
	defer windows.CloseHandle(h)
	if err := windows.AssignProcessToJobObject(job, h); err != nil {
		windows.CloseHandle(job)
		return nil, fmt.Errorf("assign process %d to its job: %w", pid, err)
	}
	if err := resume(pid); err != nil {
		windows.CloseHandle(job)
		return nil, fmt.Errorf("resume process %d: %w", pid, err)
	}
	return &Tree{PID: pid, PGID: pid, job: job}, nil
}

func newKillOnCloseJob() (windows.Handle, error) {
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return 0, fmt.Errorf("create job object: %w", err)
	}
	info := windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION{}
	info.BasicLimitInformation.LimitFlags = windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
	if _, err := windows.SetInformationJobObject(job, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
		windows.CloseHandle(job)
		return 0, fmt.Errorf("set job object limits: %w", err)
	}
	return job, nil
}

// resume starts the threads of a process created suspended. os/exec closes
// the main thread's handle right after CreateProcess, so the thread is found
// again through a snapshot; a fresh suspended process has only that one.
func resume(pid int) error {
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPTHREAD, 0)
	if err != nil {
		return fmt.Errorf("thread snapshot: %w", err)
	}
	defer windows.CloseHandle(snap)
	te := windows.ThreadEntry32{Size: uint32(unsafe.Sizeof(windows.ThreadEntry32{}))}
	resumed := 0
	for err = windows.Thread32First(snap, &te); err == nil; err = windows.Thread32Next(snap, &te) {
		if te.OwnerProcessID != uint32(pid) {
			continue
		}
		th, err := windows.OpenThread(windows.THREAD_SUSPEND_RESUME, false, te.ThreadID)
		if err != nil {
			return fmt.Errorf("open thread %d: %w", te.ThreadID, err)
		}
		_, rerr := windows.ResumeThread(th)
		windows.CloseHandle(th)
		if rerr != nil {
			return fmt.Errorf("resume thread %d: %w", te.ThreadID, rerr)
		}
		resumed++
	}
	if !errors.Is(err, windows.ERROR_NO_MORE_FILES) {
		return fmt.Errorf("walk threads: %w", err)
	}
	if resumed == 0 {
		return errors.New("no thread found")
	}
	return nil
}

// Terminate asks the tree to stop the way a console program expects to be
// asked on Windows: CTRL_BREAK_EVENT to its process group (Python raises
// KeyboardInterrupt, so a PyInstaller bootloader still removes its _MEI
// folder; Go programs see os.Interrupt). The caller ends the job with Kill
// after stop_timeout if that was not enough.
//
// When the event cannot be sent at all (a sidecar without a console, or
// Wine 8, which lacks CTRL_BREAK_EVENT), waiting stop_timeout would only
// delay the inevitable: the job is ended at once and the error, wrapping
// ErrNotGraceful, says so.
func (t *Tree) Terminate() error {
	err := ctrlBreak(t.PGID)
	if err == nil {
		return nil
	}
	if kerr := t.Kill(); kerr != nil {
		return fmt.Errorf("%w: %v; and ending its job failed: %v", ErrNotGraceful, err, kerr)
	}
	return fmt.Errorf("%w: %v", ErrNotGraceful, err)
}

// ErrNotGraceful is wrapped by Terminate's error when no graceful request
// could be sent and the tree was ended at once instead.
var ErrNotGraceful = errors.New("could not ask it to stop gently, so it was ended at once")

// Kill ends every process in the job at once.
func (t *Tree) Kill() error {
	if t.job == 0 {
		// Adopted from an earlier run: no job of ours, only the leader.
		return KillGroup(t.PGID)
	}
	return windows.TerminateJobObject(t.job, 1)
}

// Close releases the job handle; kill-on-close ends whatever is left.
func (t *Tree) Close() error {
	if t.job == 0 {
		return nil
	}
	err := windows.CloseHandle(t.job)
	t.job = 0
	return err
}

// consoleMu serialises ctrlBreak: a process is attached to one console at
// a time, so two sidecars stopping together must take turns.
var consoleMu sync.Mutex

var (
	kernel32                  = windows.NewLazySystemDLL("kernel32.dll")
	procFreeConsole           = kernel32.NewProc("FreeConsole")
	procAttachConsole         = kernel32.NewProc("AttachConsole")
	procSetConsoleCtrlHandler = kernel32.NewProc("SetConsoleCtrlHandler")
)

// ctrlBreak sends CTRL_BREAK_EVENT to process group pgid. The sidecar runs
// in a console of its own (CREATE_NO_WINDOW gives it one without a window)
// and a control event can only be sent to a console one is attached to, so
// we leave ours (the app is a GUI program and normally has none), attach to
// the sidecar's, send, and leave it again. Handlers are off while attached
// so that a stray event cannot reach us.
func ctrlBreak(pgid int) error {
	if pgid <= 0 {
		return errors.New("no process group")
	}
	consoleMu.Lock()
	defer consoleMu.Unlock()
	procFreeConsole.Call()
	if r, _, err := procAttachConsole.Call(uintptr(pgid)); r == 0 {
		if errors.Is(err, windows.ERROR_INVALID_PARAMETER) {
			return nil // the process is gone
		}
		return fmt.Errorf("attach to the console of process %d: %w", pgid, err)
	}
	defer procFreeConsole.Call()
	procSetConsoleCtrlHandler.Call(0, 1)
	defer procSetConsoleCtrlHandler.Call(0, 0)
	if err := windows.GenerateConsoleCtrlEvent(windows.CTRL_BREAK_EVENT, uint32(pgid)); err != nil {
		// Wine 8 implements only CTRL_C_EVENT and fails here with
		// ERROR_INVALID_HANDLE.
		return fmt.Errorf("CTRL_BREAK_EVENT to process group %d: %w", pgid, err)
	}
	return nil
}

// GroupAlive reports whether the process with this id still exists. Every
// process a sidecar starts is in its job, which dies with us, so what an
// earlier run can leave is single processes.
func GroupAlive(pgid int) bool {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pgid))
	if err != nil {
		return false
	}
	defer windows.CloseHandle(h)
	var code uint32
	if err := windows.GetExitCodeProcess(h, &code); err != nil {
		return false
	}
	return code == 259 // STILL_ACTIVE
}

// TerminateGroup asks a leftover from an earlier run to stop.
func TerminateGroup(pgid int) error { return ctrlBreak(pgid) }

// KillGroup ends a leftover from an earlier run.
func KillGroup(pgid int) error {
	h, err := windows.OpenProcess(windows.PROCESS_TERMINATE, false, uint32(pgid))
	if err != nil {
		return nil // gone
	}
	defer windows.CloseHandle(h)
	return windows.TerminateProcess(h, 1)
}
