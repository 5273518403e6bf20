//go:build unix

package testutil

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"syscall"
)

// ProcessAlive reports whether pid names a live process. A zombie (exited
// but not yet reaped) counts as dead: it serves nothing and holds no port.
// The zombie check needs /proc, so it only happens on Linux; elsewhere an
// unreaped process still reads as alive.
func ProcessAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	// /proc first, the signal second: a process reaped between the two
	// looks then reads as gone. The other order saw a zombie being reaped
	// still there, then no /proc entry, and took it for alive.
	stat, rerr := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if rerr != nil {
		// Gone, or no /proc (macOS, BSD): ask the kernel.
		err := syscall.Kill(pid, 0)
		// EPERM: it exists but belongs to someone else.
		return err == nil || errors.Is(err, syscall.EPERM)
	}
	// Format: "pid (comm) S ..."; comm may contain spaces and parentheses,
	// so the state is the first field after the last ')'.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 || i+2 >= len(stat) {
		return true
	}
	state := stat[i+2]
	return state != 'Z' && state != 'X'
}
