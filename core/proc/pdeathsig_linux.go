package proc

import "syscall"

// prepareOS sets a parent-death signal. The kernel sends it when the
// *thread* that forked the child exits (golang/go#27505), so the supervisor
// starts each sidecar from a goroutine locked to its OS thread that lives as
// long as the child. It only reaches the direct child: the guardian covers
// grandchildren.
func prepareOS(a *syscall.SysProcAttr) {
	a.Pdeathsig = syscall.SIGKILL
}
