//go:build !linux

package proc

import (
	"errors"
	"fmt"

	"github.com/shirou/gopsutil/v3/process"
)

// CreateTime returns the process's start time in milliseconds since the
// epoch, as gopsutil reports it (the kernel's own start time of the
// process on macOS and Windows).
func CreateTime(pid int) (int64, error) {
	p, err := process.NewProcess(int32(pid))
	if err != nil {
		return 0, fmt.Errorf("process %d: %w", pid, err)
	}
	ct, err := p.CreateTime()
	if err != nil {
		return 0, fmt.Errorf("process %d create time: %w", pid, err)
	}
	return ct, nil
}

// primeIdentity has nothing to read ahead here.
func primeIdentity() {}

// Check tells whether pid is still the process that had createTime. When
// the identity cannot be established — createTime is 0 (it could not be
// read when the process was recorded) or the process's create time cannot
// be read now — and a process exists under pid, the answer is Unknown, and
// no caller ever signals, adopts or counts as ours a process it was told
// is Unknown: the pid may have been reused.
func Check(pid int, createTime int64) Liveness {
	if pid <= 0 {
		return Gone
	}
	p, err := process.NewProcess(int32(pid))
	if err != nil {
		return Gone
	}
	ct, err := p.CreateTime()
	switch {
	case err != nil:
		if ok, _ := process.PidExists(int32(pid)); ok {
			return Unknown
		}
		return Gone
	case createTime == 0:
		return Unknown
	case ct != createTime:
		return Replaced
	}
	st, err := p.Status()
	if err != nil {
		if errors.Is(err, process.ErrorProcessNotRunning) {
			return Gone
		}
		// Status is unsupported on some platforms; existence is enough there.
		return Alive
	}
	for _, s := range st {
		if s == process.Zombie {
			return Zombie
		}
	}
	return Alive
}
