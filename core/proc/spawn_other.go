//go:build !linux

package proc

import "os/exec"

// Start starts cmd (see Prepare). Only Linux forks from one dedicated
// thread (for its parent-death signal); elsewhere this is cmd.Start.
func Start(cmd *exec.Cmd) error { return cmd.Start() }

// AwaitExit returns at once: Wait does the waiting.
func AwaitExit(int) {}
