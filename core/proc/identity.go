package proc

import "github.com/shirou/gopsutil/v3/process"

// A process is named for its whole life by its pid and its create time (ms
// since the epoch, CreateTime): a reused pid gets a different create time.
// Records, the guardian's watch list and the orphan sweep all name
// processes that way, and Check is the one test of whether a pid is still
// the process that was recorded. Linux computes the create time itself
// (identity_linux.go); elsewhere gopsutil does.

// gopsutil's own create times (the watchdog's per-process samples off the
// /proc scan) add the boot time to a process's start; without the cache it
// is read again for every one. The switch is a package variable of
// gopsutil's, read by every create time, so it is set once here, before
// any goroutine can compute one.
func init() { process.EnableBootTimeCache(true) }

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
