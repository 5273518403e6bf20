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
	err := syscall.Kill(pid, 0)
	// EPERM: it exists but belongs to someone else.
	if err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	stat, rerr := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if rerr != nil {
		// No /proc (macOS, BSD) or it vanished meanwhile: trust kill.
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
