package proc

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// listsMembers: Tree.Members lists a tree's processes (from /proc).
const listsMembers = true

// procs is one read of every process in /proc (zombies included), by pid,
// and the run token of those whose environment was read (once per scan, so
// one pass serves every tree).
type procs struct {
	stat  map[int]Stat
	token map[int]string
}

// scanProcs reads /proc/<pid>/stat of every process once.
func scanProcs() *procs {
	out := &procs{stat: map[int]Stat{}, token: map[int]string{}}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return out
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := ReadStat(pid); err == nil {
			out.stat[pid] = st
		}
	}
	return out
}

// tokenOf is the TreeEnv value in pid's environment ("" if none). A zombie
// has no environment any more (and nothing to end); another user's process
// cannot be read (and is not ours).
func (p *procs) tokenOf(pid int) string {
	if tok, ok := p.token[pid]; ok {
		return tok
	}
	tok := ""
	data, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	prefix := []byte(TreeEnv + "=")
	for len(data) > 0 {
		var v []byte
		if i := bytes.IndexByte(data, 0); i >= 0 {
			v, data = data[:i], data[i+1:]
		} else {
			v, data = data, nil
		}
		if rest, ok := bytes.CutPrefix(v, prefix); ok {
			tok = string(rest)
		}
	}
	p.token[pid] = tok
	return tok
}

// treeMembers finds every process of a sidecar's tree in one read of /proc:
// the leader, its process group, every process that carries the run's token
// in its environment (a daemon that called setsid and double-forked keeps
// it: it inherits our environment like everything else), every process seen
// in the tree before (known: pid → start ticks, still the same process), and
// the descendants (by parent pid) of all of those. minStart skips the
// environment read for processes started before the run (they cannot be
// part of it); 0 reads every process's.
func treeMembers(all *procs, leader, pgid int, token string, minStart uint64, known map[int]uint64) []Member {
	in := map[int]bool{}
	var queue []int
	add := func(pid int) {
		if !in[pid] {
			in[pid] = true
			queue = append(queue, pid)
		}
	}
	if _, ok := all.stat[leader]; ok && leader > 1 {
		add(leader)
	}
	children := map[int][]int{}
	for pid, st := range all.stat {
		children[st.PPID] = append(children[st.PPID], pid)
		switch {
		case pid <= 1 || st.PPID == 2 || pid == 2: // init and kernel threads are never ours
		case pgid > 1 && st.PGID == pgid:
			add(pid)
		case known[pid] != 0 && known[pid] == st.StartTicks:
			add(pid)
		case token != "" && st.StartTicks >= minStart && st.State != 'Z' && all.tokenOf(pid) == token:
			add(pid)
		}
	}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		for _, c := range children[pid] {
			add(c)
		}
	}
	out := make([]Member, 0, len(in))
	for pid := range in {
		st := all.stat[pid]
		out = append(out, Member{PID: pid, Start: st.StartTicks, Zombie: st.State == 'Z', PGID: st.PGID})
	}
	return out
}

// startTicks is pid's start time in clock ticks after boot (0 if unknown).
func startTicks(pid int) uint64 {
	st, err := ReadStat(pid)
	if err != nil {
		return 0
	}
	return st.StartTicks
}

// signalMember sends sig to m only if m.PID still names the process that
// started at m.Start: the check and the signal go through one pidfd, so a
// pid reused in between is never signalled.
func signalMember(m Member, sig syscall.Signal) error {
	fd, err := unix.PidfdOpen(m.PID, 0)
	if errors.Is(err, unix.ENOSYS) {
		// Before Linux 5.3: check, then signal. A pid reused in the
		// microseconds between is the residual risk there.
		if m.Start == 0 || startTicks(m.PID) != m.Start {
			return nil
		}
		if err := syscall.Kill(m.PID, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			return err
		}
		return nil
	}
	if err != nil {
		if errors.Is(err, unix.ESRCH) {
			return nil
		}
		return err
	}
	defer unix.Close(fd)
	if m.Start == 0 || startTicks(m.PID) != m.Start {
		return nil // not the process we saw (or we never knew which one)
	}
	err = unix.PidfdSendSignal(fd, sig, nil, 0)
	if errors.Is(err, unix.ESRCH) {
		return nil
	}
	return err
}

// scanTree is treeMembers on a fresh read of /proc.
func scanTree(leader, pgid int, token string, minStart uint64, known map[int]uint64) []Member {
	return treeMembers(scanProcs(), leader, pgid, token, minStart, known)
}

// tokenProcs lists the live processes carrying token, for a sweep that has
// nothing but the state file (every process's environment is read).
func tokenProcs(token string) []Member {
	if token == "" {
		return nil
	}
	return treeMembers(scanProcs(), 0, 0, token, 0, nil)
}

// memberAlive reports whether m.PID is still the process m names and has
// not exited.
func memberAlive(m Member) bool {
	st, err := ReadStat(m.PID)
	return err == nil && st.StartTicks == m.Start && st.State != 'Z'
}
