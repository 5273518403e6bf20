//go:build windows

package proc

import (
	"fmt"
	"os/exec"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Prepare starts the child in a new process group so console control events
// aimed at the app do not reach it; the job object made in Attach is what
// ties the tree's life to ours.
func Prepare(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &windows.SysProcAttr{}
	}
	cmd.SysProcAttr.CreationFlags |= windows.CREATE_NEW_PROCESS_GROUP
}

// Tree is a started process and the job object holding it and its children.
type Tree struct {
	PID  int
	PGID int // the job is the group on Windows; PGID mirrors PID for records
	job  windows.Handle
}

// Attach puts the started child into a job object with kill-on-close: when
// the last handle to the job closes — including when this process dies in
// any way — Windows ends every process in it.
func Attach(cmd *exec.Cmd) (*Tree, error) {
	pid := cmd.Process.Pid
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return nil, fmt.Errorf("create job object: %w", err)
	}
	info := windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION{}
	info.BasicLimitInformation.LimitFlags = windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
	if _, err := windows.SetInformationJobObject(job, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
		windows.CloseHandle(job)
		return nil, fmt.Errorf("set job object limits: %w", err)
	}
	h, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE, false, uint32(pid))
	if err != nil {
		windows.CloseHandle(job)
		return nil, fmt.Errorf("open process %d: %w", pid, err)
	}
	defer windows.CloseHandle(h)
	if err := windows.AssignProcessToJobObject(job, h); err != nil {
		windows.CloseHandle(job)
		return nil, fmt.Errorf("assign process %d to job: %w", pid, err)
	}
	return &Tree{PID: pid, PGID: pid, job: job}, nil
}

// Terminate has no gentle form on Windows for a console-less child; it ends
// the job.
func (t *Tree) Terminate() error { return t.Kill() }

// Kill ends every process in the job.
func (t *Tree) Kill() error {
	if t.job == 0 {
		return nil
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

// GroupAlive reports whether the process with this id still exists (the
// job is gone with us, so leftovers are single processes on Windows).
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

func TerminateGroup(pgid int) error { return KillGroup(pgid) }

func KillGroup(pgid int) error {
	h, err := windows.OpenProcess(windows.PROCESS_TERMINATE, false, uint32(pgid))
	if err != nil {
		return nil // gone
	}
	defer windows.CloseHandle(h)
	return windows.TerminateProcess(h, 1)
}
