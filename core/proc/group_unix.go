//go:build unix

package proc

import (
	"errors"
	"os/exec"
	"syscall"
)

// Prepare makes cmd start in a process group of its own, so the child and
// everything it forks (a PyInstaller --onefile binary is two processes) can
// be signalled as one. On Linux it also asks for a parent-death signal; see
// prepareOS.
func Prepare(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	prepareOS(cmd.SysProcAttr)
}

// Tree is a started process and the group it leads.
type Tree struct {
	PID  int
	PGID int
}

// Attach is called right after cmd.Start. On Unix the group already exists.
func Attach(cmd *exec.Cmd) (*Tree, error) {
	pid := cmd.Process.Pid
	pgid, err := syscall.Getpgid(pid)
	if err != nil {
		// The child may already have exited; its group id equals its pid
		// because of Setpgid.
		pgid = pid
	}
	return &Tree{PID: pid, PGID: pgid}, nil
}

// Terminate asks the whole tree to stop (SIGTERM to the group).
func (t *Tree) Terminate() error { return signalGroup(t.PGID, syscall.SIGTERM) }

// Kill ends the whole tree at once (SIGKILL to the group).
func (t *Tree) Kill() error { return signalGroup(t.PGID, syscall.SIGKILL) }

// Close releases what Attach acquired (nothing on Unix).
func (t *Tree) Close() error { return nil }

// GroupAlive reports whether any process of the group still exists.
func GroupAlive(pgid int) bool {
	if pgid <= 0 {
		return false
	}
	err := syscall.Kill(-pgid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// TerminateGroup and KillGroup signal a group known only by its id, for
// leftovers from an earlier run.
func TerminateGroup(pgid int) error { return signalGroup(pgid, syscall.SIGTERM) }
func KillGroup(pgid int) error      { return signalGroup(pgid, syscall.SIGKILL) }

func signalGroup(pgid int, sig syscall.Signal) error {
	if pgid <= 1 {
		return errors.New("refusing to signal process group <= 1")
	}
	err := syscall.Kill(-pgid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return nil // already gone
	}
	return err
}
