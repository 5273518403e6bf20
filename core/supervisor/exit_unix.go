//go:build unix

package supervisor

import (
	"os"
	"syscall"
	"time"
)

func exitOf(ps *os.ProcessState, at time.Time) Exit {
	e := Exit{Code: ps.ExitCode(), At: at}
	if ps == nil { // cmd.Wait failed before it had a status: code -1, no signal
		return e
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		e.Signal = ws.Signal().String()
	}
	return e
}
