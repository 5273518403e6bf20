package proc

import (
	"errors"
	"fmt"

	"github.com/shirou/gopsutil/v3/process"
)

// Boot time does not change while we run; without the cache gopsutil reads
// /proc/stat again for every create time it computes. The switch is a
// package variable of gopsutil's, read by every create time, so it is set
// once here, before any goroutine can compute one.
func init() { process.EnableBootTimeCache(true) }

// CreateTime returns the process's start time in milliseconds since the
// epoch, as gopsutil reports it. Together with the pid it names one process
// for its whole life: a reused pid gets a different create time.
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

// Liveness is what a look at one recorded process found.
type Liveness int

const (
	Gone     Liveness = iota // no such process
	Alive                    // running, same create time
	Zombie                   // exited but not yet reaped by its parent
	Replaced                 // the pid now belongs to another process
	Unknown                  // a process exists but we cannot tell whether it is ours: never act on it
)

func (l Liveness) String() string {
	switch l {
	case Alive:
		return "alive"
	case Zombie:
		return "zombie"
	case Replaced:
		return "pid reused by another process"
	case Unknown:
		return "of unknown identity"
	default:
		return "gone"
	}
}

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
