//go:build unix

package proc

import (
	"os/exec"
	"os/signal"
	"syscall"
)

// guardianAttrs puts the guardian in its own process group so that ending
// the app's group (or a terminal's Ctrl-C) does not take it down before it
// has done its job.
func guardianAttrs(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

func ignoreSignals() {
	signal.Ignore(syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE)
}
