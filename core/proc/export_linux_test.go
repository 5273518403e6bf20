package proc

import (
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// ContainmentPass runs one pass of a containment whose guardian writes its
// lines to w, without the goroutine, for tree.
func ContainmentPass(w *os.File, trees ...*Tree) {
	g := &Guardian{w: w, cmd: &exec.Cmd{Process: &os.Process{Pid: -1}}}
	sid, _ := unix.Getsid(0)
	c := &containment{g: g, self: os.Getpid(), pgid: syscall.Getpgrp(), sid: sid, trees: map[*Tree]bool{}, left: map[int]uint64{},
		told: map[*Tree]map[int]uint64{}, adopted: map[int]uint64{}}
	for _, t := range trees {
		c.trees[t] = true
	}
	c.pass()
}

func StartTicks(pid int) uint64 { return startTicks(pid) }

// AwaitExitAfter is AwaitExit with registered run once the pidfd is in the
// poller.
func AwaitExitAfter(pid int, registered func()) { awaitExit(pid, registered) }

var ParseBootTime = parseBootTime

// CgroupMembersFrom is the members of a cgroup whose cgroup.procs is in
// dir, with the processes' stats given instead of read from /proc: those
// of an earlier read of it (snapshot) and those read now.
func CgroupMembersFrom(dir string, snapshot, now map[int]Stat, known map[int]uint64) []Member {
	return (&cgroup{dir: dir}).membersAt(&procs{stat: snapshot}, known, func(pid int) (Stat, bool) {
		st, ok := now[pid]
		return st, ok
	})
}
