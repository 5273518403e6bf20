//go:build windows

package proc

import (
	"os"
	"os/exec"
	"os/signal"
)

// On Windows the job objects already end every sidecar when the app dies;
// the guardian is harmless there but not needed.
func guardianAttrs(*exec.Cmd) {}

func ignoreSignals() { signal.Ignore(os.Interrupt) }
