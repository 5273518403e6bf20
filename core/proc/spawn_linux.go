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
func AwaitExit(pid int) { awaitExit(pid, nil) }

// awaitExit is AwaitExit; registered, when set, runs once the pidfd is in
// the poller (a test widens the window there).
func awaitExit(pid int, registered func()) {
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
	if registered != nil {
		registered()
	}
	// The callback looks at the pidfd itself, every time: the poller only
	// says when to look again. Its readiness is edge-triggered, and a wait
	// begins by clearing it (RawConn.Read's prepareRead). A process that
	// exited before that, its one edge already taken in by the poller,
	// would never be announced again: a callback that said "not yet" the
	// first time without looking waited for ever. That happened to a
	// crash-looping sidecar on a loaded machine — its exit never seen, a
	// zombie for minutes, its Stop never answered — as it does to pipes
	// (see logs.pipeReader.waitReadable).
	_ = rc.Read(func(fd uintptr) bool { return exited(int(fd)) })
}

// exited reports whether the process of pidfd has exited (the pidfd is
// readable, or hung up once the process is reaped). An error says yes too:
// the caller's Wait then blocks as it would without a pidfd.
func exited(pidfd int) bool {
	pfd := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(pfd, 0)
		if err == unix.EINTR {
			continue
		}
		return err != nil || n > 0
	}
}
