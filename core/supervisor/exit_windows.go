//go:build windows

package supervisor

import (
	"os"
	"time"
)

func exitOf(ps *os.ProcessState, at time.Time) Exit {
	return Exit{Code: ps.ExitCode(), At: at}
}
