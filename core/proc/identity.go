package proc

import (
	"errors"
	"fmt"

	"github.com/shirou/gopsutil/v3/process"
)

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
)

func (l Liveness) String() string {
	switch l {
	case Alive:
		return "alive"
	case Zombie:
		return "zombie"
	case Replaced:
		return "pid reused by another process"
	default:
		return "gone"
	}
}

// Check tells whether pid is still the process that had createTime. A
// createTime of 0 skips the identity check (used only when it is unknown).
func Check(pid int, createTime int64) Liveness {
	if pid <= 0 {
		return Gone
	}
	p, err := process.NewProcess(int32(pid))
	if err != nil {
		return Gone
	}
	if createTime != 0 {
		ct, err := p.CreateTime()
		if err != nil {
			return Gone
		}
		if ct != createTime {
			return Replaced
		}
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
