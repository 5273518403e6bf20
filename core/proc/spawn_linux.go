package proc

import (
	"os"
	"os/exec"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"
)

// Linux sends a child's parent-death signal (prepareOS) when the *thread*
// that forked it exits, not the process (golang/go#27505). Start therefore
// forks every child from one thread that never exits: a goroutine locked to
// it for the life of the app. Its children get the signal exactly when the
// app dies, as with one locked thread per child, but the app keeps one
// thread instead of one per sidecar, and waiting for an exit (AwaitExit)
// needs no thread at all.
var spawner struct {
	once sync.Once
	reqs chan spawnReq
}

type spawnReq struct {
	cmd  *exec.Cmd
	done chan error
}

// Start starts cmd (see Prepare) from the spawner thread; a sidecar's
// run is born in a cgroup of its own where one can be made (see
// cgroup_linux.go, and Attach, which takes it over).
func Start(cmd *exec.Cmd) error {
	cg, fd := placeInCgroup(cmd)
	err := spawn(cmd)
	if cg != nil {
		cg.started(cmd, fd, err)
	}
	return err
}

func spawn(cmd *exec.Cmd) error {
	spawner.once.Do(func() {
		spawner.reqs = make(chan spawnReq)
		// It never ends: an exit of its thread would be the parent death
		// of every child it started. It costs one parked thread.
		go func() {
			runtime.LockOSThread()
			for r := range spawner.reqs {
				r.done <- r.cmd.Start()
			}
		}()
	})
	done := make(chan error, 1)
	spawner.reqs <- spawnReq{cmd: cmd, done: done}
	return <-done
}

// AwaitExit returns once the process pid (a child of ours, not yet waited
// for) has exited, so that a Wait after it returns at once. os.Process.Wait
// blocks its thread in waitid for the child's whole life: one OS thread
// per sidecar. A pidfd in the runtime's poller parks only the goroutine.
// Where pidfds are missing (before Linux 5.3) it returns at once, and Wait
// blocks as before.
func AwaitExit(pid int) {
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		return
	}
	f := os.NewFile(uintptr(fd), "pidfd") // non-blocking: os registers it with the poller
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	polled := false
	// A pidfd is readable once its process has exited: the first call
	// asks the poller to wait for that, the second (after it) returns.
	_ = rc.Read(func(uintptr) bool {
		done := polled
		polled = true
		return done
	})
}
