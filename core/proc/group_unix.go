//go:build unix

package proc

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
)

// Prepare makes cmd start in a process group of its own, so the child and
// everything it forks (a PyInstaller --onefile binary is two processes) can
// be signalled as one. On Linux it also asks for a parent-death signal; see
// prepareOS.
func Prepare(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	prepareOS(cmd.SysProcAttr)
	setToken(cmd)
}

// setToken gives the run a fresh TreeEnv token, replacing one we may have
// inherited (the app itself started by another supervisor).
func setToken(cmd *exec.Cmd) {
	env := cmd.Env
	if env == nil {
		env = os.Environ()
	}
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, TreeEnv+"=") {
			out = append(out, kv)
		}
	}
	var b [12]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand panics rather than return short)
	cmd.Env = append(out, TreeEnv+"="+hex.EncodeToString(b[:]))
}

// Tree is a started process, the group it leads and, on Linux, every
// process that left the group but carries the run's token or descends from
// a member (a daemon that called setsid and double-forked).
type Tree struct {
	PID  int
	PGID int

	token string  // TreeEnv value of this run ("" for an adopted tree)
	start uint64  // leader's start ticks: nothing older belongs to the run
	cg    *cgroup // the run's cgroup (Linux, where one could be made): its membership

	mu    sync.Mutex
	known map[int]uint64 // members at the last scan: pid → start ticks
}

// Attach is called right after cmd.Start. On Unix the group already exists.
func Attach(cmd *exec.Cmd) (*Tree, error) {
	pid := cmd.Process.Pid
	pgid, err := syscall.Getpgid(pid)
	if err != nil {
		// The child may already have exited; its group id equals its pid
		// because of Setpgid.
		pgid = pid
	}
	t := &Tree{PID: pid, PGID: pgid, start: startTicks(pid), cg: takeCgroup(cmd)}
	for _, kv := range cmd.Env {
		if v, ok := strings.CutPrefix(kv, TreeEnv+"="); ok {
			t.token = v
		}
	}
	return t, nil
}

// AdoptTree is the tree of a run an earlier app instance left running,
// which this one takes over (supervisor Options.Adopt): its group, its
// token (a daemon that left the group carries it), and on Linux its
// cgroup, marked as ours from now on, so that Stop ends all of it, our
// guardian ends it if we die, and no other instance's sweep takes it for a
// dead instance's leftover.
func AdoptTree(r Record) *Tree {
	// The leader's start, when it can be read, spares the token scan the
	// environments of every older process (none can be of the run).
	return &Tree{PID: r.PID, PGID: r.PGID, token: r.Token, start: startTicks(r.PID), cg: adoptCgroup(r.Cgroup)}
}

// TreeToken is the TreeEnv token of t's run ("" if it has none).
func TreeToken(t *Tree) string { return t.token }

// TreeCgroup is the directory of t's cgroup ("" if it has none).
func TreeCgroup(t *Tree) string {
	if t.cg == nil {
		return ""
	}
	return t.cg.dir
}

// Members lists every process of the tree now (Linux; nil elsewhere) and
// remembers them. With a cgroup that is its cgroup.procs (and the zombies
// among the members seen before: ours to reap); without, a scan of /proc
// for the group, the token and descendants, remembered so that a member
// that later clears its environment or is reparented is still found
// through its pid and start time.
func (t *Tree) Members() []Member {
	t.mu.Lock()
	known := make(map[int]uint64, len(t.known))
	for k, v := range t.known {
		known[k] = v
	}
	t.mu.Unlock()
	var ms []Member
	if t.cg != nil {
		ms = cgroupMembers(t.cg, known)
	} else {
		ms = scanTree(t.PID, t.PGID, t.token, t.start, known)
	}
	t.remember(ms)
	return ms
}

// lastKnown is the tree's members at its last scan.
func (t *Tree) lastKnown() map[int]uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.known // replaced, never modified, by remember
}

// remember keeps the members of this scan (not every process ever
// seen: a sidecar that runs a short command each second must not grow it).
func (t *Tree) remember(ms []Member) {
	known := make(map[int]uint64, len(ms))
	for _, m := range ms {
		if m.Start != 0 { // zombies too: ours until reaped (containment_linux.go)
			known[m.PID] = m.Start
		}
	}
	t.mu.Lock()
	t.known = known
	t.mu.Unlock()
}

// Lingering reports whether a process of the tree other than the leader is
// still alive (zombies do not count): a group member that closed its
// output, or a daemon. A run is over only when none is left.
func Lingering(t *Tree) bool {
	if t.cg != nil {
		// Until the cgroup is empty and its last members are done exiting
		// (a process on its way out would also keep it from being removed).
		return cgroupLingering(t.cg, t.lastKnown(), t.PID)
	}
	if !listsMembers {
		// Nothing lists a tree's members here (macOS): its group is what
		// holds it. The leader is reaped by the time this is asked (its
		// exit was reported), so whatever the group still holds is another
		// member. Ending the run with its output pipes instead let a Stop
		// return, its kill timer stopped with the run, while a member that
		// had closed its output and ignored SIGTERM ran on for ever.
		return GroupAlive(t.PGID)
	}
	for _, m := range t.Members() {
		if m.PID != t.PID && !m.Zombie {
			return true
		}
	}
	return false
}

// Terminate asks the whole tree to stop: SIGTERM to the group and to every
// member outside it.
func (t *Tree) Terminate() error { return t.signal(syscall.SIGTERM) }

// Kill ends the whole tree at once: SIGKILL to the group and to every
// member outside it, and to its cgroup (every process in it, forks in
// flight included).
func (t *Tree) Kill() error { return t.signal(syscall.SIGKILL) }

func (t *Tree) signal(sig syscall.Signal) error {
	err := signalGroup(t.PGID, sig)
	if t.cg != nil && sig == syscall.SIGKILL {
		if kerr := t.cg.kill(); kerr != nil && err == nil {
			err = kerr
		}
	}
	for _, m := range t.Members() {
		if m.PGID != t.PGID && !m.Zombie {
			if serr := signalMember(m, sig); serr != nil && err == nil {
				err = serr
			}
		}
	}
	return err
}

// Close releases what Attach acquired: the run's cgroup, which must be
// empty by then (Lingering false). Nothing else on Unix.
func (t *Tree) Close() error {
	if t.cg == nil {
		return nil
	}
	if err := t.cg.remove(); err != nil {
		return fmt.Errorf("remove cgroup: %w", err)
	}
	return nil
}

// GroupAlive reports whether any process of the group still exists.
func GroupAlive(pgid int) bool {
	if pgid <= 0 {
		return false
	}
	err := syscall.Kill(-pgid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// TerminateGroup and KillGroup signal a group known only by its id, for
// leftovers from an earlier run.
func TerminateGroup(pgid int) error { return signalGroup(pgid, syscall.SIGTERM) }
func KillGroup(pgid int) error      { return signalGroup(pgid, syscall.SIGKILL) }

func signalGroup(pgid int, sig syscall.Signal) error {
	if pgid <= 1 {
		return errors.New("refusing to signal process group <= 1")
	}
	err := syscall.Kill(-pgid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return nil // already gone
	}
	return err
}
