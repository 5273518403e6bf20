package proc

import (
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// A pass reads every /proc/<pid>/stat (about 6 ms for 370 processes on a
// loaded 2-core machine) and the environment of each process it has not
// seen before: once a second for ever, that was most of the app's idle CPU.
// Escapes from a group happen when a sidecar starts or changes (a daemon
// forks), so the passes follow that: one every trackEvery after a tree is
// watched or a pass found something (a new member outside the group, an
// orphan to reap), each quiet pass doubling the gap up to trackMax. A
// SIGCHLD (a child of ours ended) prompts one sooner, at most every minGap,
// and makes the passes fast again. A daemon that escapes late in a long
// quiet run is told to the guardian up to trackMax after it escaped; until
// then the guardian still finds it by the run's token if the app dies.
const (
	trackEvery = time.Second
	trackMax   = time.Minute
	minGap     = 100 * time.Millisecond
)

// containment is the app-side half of keeping sidecar trees contained on
// Linux, owned by the Guardian (started with it, ended by its Close):
//
//   - It makes the app a child subreaper (PR_SET_CHILD_SUBREAPER), so a
//     daemon that double-forks out of a sidecar is reparented to us rather
//     than to init while we live.
//   - It scans /proc (see trackEvery; and on SIGCHLD) for each watched
//     tree's members outside its process group and tells the guardian each
//     new one (pid + start ticks), so the guardian ends them if we die. A
//     tree with a cgroup is not scanned for (the guardian ends its cgroup):
//     when every tree has one, passes happen only on SIGCHLD, to reap.
//   - It reaps the orphans reparented to us. It never waits on a pid that
//     may belong to an exec.Cmd (that would steal the exit from its Wait):
//     only on a child of ours that it saw alive as a member of a watched
//     tree (pid + start ticks), or a zombie child that is in another
//     session, or in a group it does not lead other than ours. No exec.Cmd
//     child of this app is either: os/exec leaves a child in our group, or
//     makes it lead its own (Setpgid), and nothing here starts a child with
//     Setsid (keep it so); such a zombie can only be an orphan reparented
//     to us, like a double fork's middle process or a daemon that died
//     before any pass saw it alive. The one gap: an orphan in our session
//     that made itself a group leader (setpgid without setsid) and died
//     within trackEvery of being reparented, unseen, stays a zombie until
//     the app exits. With cgroups there is no such gap: a zombie child of
//     ours in a run's cgroup (/proc/<pid>/cgroup still names it) that is
//     not the run's leader is such an orphan, and is reaped.
type containment struct {
	g     *Guardian
	self  int
	pgid  int // our own process group
	sid   int // our own session
	mu    sync.Mutex
	trees map[*Tree]bool
	old   []int          // pgids of recently forgotten trees, newest last
	oldCg []string       // cgroup names of recently forgotten trees, newest last
	left  map[int]uint64 // their last known members, until reaped or gone
	stop  chan struct{}
	done  chan struct{}
	fresh chan struct{} // cap 1: a tree was watched, passes are fast again

	// Owned by the goroutine.
	told    map[*Tree]map[int]uint64 // members already told to the guardian
	news    bool                     // the last pass told the guardian something new
	tokens  map[int]knownToken       // run tokens read by earlier passes, by pid
	adopted map[int]uint64           // children of ours that are tree members: pid → start ticks
}

var (
	subreaperMu    sync.Mutex
	subreaperUsers int
)

// setSubreaper counts users so that parallel guardians (tests) share the
// process-wide flag; the last one clears it.
func setSubreaper(on bool) {
	subreaperMu.Lock()
	defer subreaperMu.Unlock()
	if on {
		subreaperUsers++
		if subreaperUsers == 1 {
			_ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
		}
		return
	}
	subreaperUsers--
	if subreaperUsers == 0 {
		_ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
	}
}

func startContainment(g *Guardian) *containment {
	sid, _ := unix.Getsid(0)
	c := &containment{g: g, self: os.Getpid(), pgid: syscall.Getpgrp(), sid: sid, trees: map[*Tree]bool{}, left: map[int]uint64{},
		stop: make(chan struct{}), done: make(chan struct{}), fresh: make(chan struct{}, 1),
		told: map[*Tree]map[int]uint64{}, adopted: map[int]uint64{}, tokens: map[int]knownToken{}}
	setSubreaper(true)
	go c.run()
	return c
}

func (c *containment) watch(t *Tree) {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.trees[t] = true
	c.mu.Unlock()
	select {
	case c.fresh <- struct{}{}:
	default:
	}
}

func (c *containment) forget(t *Tree) {
	if c == nil {
		return
	}
	c.mu.Lock()
	delete(c.trees, t)
	for pid, start := range t.lastKnown() {
		if pid != t.PID {
			c.left[pid] = start // may still be reparented to us and need reaping
		}
	}
	c.old = append(c.old, t.PGID)
	if len(c.old) > 64 {
		c.old = c.old[len(c.old)-64:]
	}
	if t.cg != nil {
		c.oldCg = append(c.oldCg, filepath.Base(t.cg.dir))
		if len(c.oldCg) > 64 {
			c.oldCg = c.oldCg[len(c.oldCg)-64:]
		}
	}
	c.mu.Unlock()
}

// scanning reports whether a periodic pass has work: a tree held by its
// token (escapes to find and tell the guardian), or members of forgotten
// trees still to reap. A tree with a cgroup needs none: the guardian
// knows its cgroup, and its orphans are reaped on the SIGCHLD of their
// exit (run).
func (c *containment) scanning() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.left) > 0 {
		return true
	}
	for t := range c.trees {
		if t.cg == nil {
			return true
		}
	}
	return false
}

// close ends the goroutine and gives up the subreaper flag, then reaps the
// orphans still on their way out (a group member killed by the last Stop
// may still be exiting): passes every 50 ms until none is left, for at most
// two seconds.
func (c *containment) close() {
	if c == nil {
		return
	}
	close(c.stop)
	<-c.done
	setSubreaper(false)
	deadline := time.Now().Add(2 * time.Second)
	for c.pass() > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond) // exiting processes: SIGCHLD is no longer ours to wait on
	}
}

func (c *containment) run() {
	defer close(c.done)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGCHLD)
	defer signal.Stop(sig)
	gap := trackEvery
	t := time.NewTimer(gap)
	defer t.Stop()
	var last time.Time
	for {
		exited := false
		select {
		case <-t.C:
		case <-c.fresh:
			gap = trackEvery
			t.Reset(gap)
			continue
		case <-sig:
			if d := time.Until(last.Add(minGap)); d > 0 {
				select {
				case <-time.After(d): // rate limit: a burst of exits costs one pass
				case <-c.stop:
				}
			}
			gap = trackEvery
			exited = true
		case <-c.stop:
			c.pass()
			return
		}
		// A SIGCHLD always brings a pass, even with no tree watched: the
		// exit of a run's last process can follow the end of its run (a
		// cgroup is empty before its last process is a zombie), and no
		// other signal tells us of that zombie.
		scan := c.scanning()
		switch {
		case !scan && !exited:
			gap = trackMax // nothing to look for: Watch or a SIGCHLD makes it fast again
		case c.pass() > 0 && scan || c.news:
			gap = trackEvery
		case !scan:
			gap = trackMax // only trees with a cgroup: the next SIGCHLD brings the next pass
		default:
			gap = min(2*gap, trackMax)
		}
		c.news = false
		last = time.Now()
		t.Reset(gap) // Go ≥ 1.23: no stale tick survives a Reset
	}
}

// pass is one look at /proc: new members are told to the guardian, orphans
// of ours are noted while alive and reaped once they have exited.
func (c *containment) pass() (pending int) {
	c.mu.Lock()
	trees := make([]*Tree, 0, len(c.trees))
	for t := range c.trees {
		trees = append(trees, t)
	}
	pgids := map[int]bool{}
	for _, p := range c.old {
		pgids[p] = true
	}
	cgs := map[string]bool{} // names of the run cgroups whose zombies are ours to reap
	for _, n := range c.oldCg {
		cgs[n] = true
	}
	c.mu.Unlock()
	for t := range c.told {
		if !containsTree(trees, t) {
			delete(c.told, t)
		}
	}
	all := scanProcs()
	if c.tokens == nil {
		c.tokens = map[int]knownToken{}
	}
	// A process's environment is read once in its life, not once per pass:
	// on a busy machine the processes started since a run began (every
	// compiler of a build) were most of a pass's reads. A pid names the same
	// process while its start ticks do.
	for pid, k := range c.tokens {
		if st, ok := all.stat[pid]; ok && st.StartTicks == k.start {
			all.token[pid] = k.token
		} else {
			delete(c.tokens, pid)
		}
	}
	defer func() {
		for pid, tok := range all.token {
			if st, ok := all.stat[pid]; ok && st.State != 'Z' {
				c.tokens[pid] = knownToken{start: st.StartTicks, token: tok}
			}
		}
	}()
	zombies := 0
	leaders := map[int]bool{c.g.cmd.Process.Pid: true}
	members := map[int]uint64{}
	c.mu.Lock()
	for pid, start := range c.left {
		members[pid] = start
	}
	c.mu.Unlock()
	for _, t := range trees {
		leaders[t.PID] = true
		pgids[t.PGID] = true
		for pid, start := range t.lastKnown() {
			members[pid] = start // seen by the supervisor's own scan (at a kill, say)
		}
		if t.cg != nil {
			cgs[filepath.Base(t.cg.dir)] = true
		}
		now := map[int]uint64{}
		for _, m := range t.membersIn(all) {
			members[m.PID] = m.Start
			if m.Zombie || t.cg != nil {
				continue // the guardian ends a cgroup as a whole
			}
			if m.PGID == t.PGID || m.PID == t.PID {
				continue // the guardian ends the group as a whole
			}
			if c.told[t][m.PID] != m.Start {
				_ = c.g.descendant(t.PGID, m)
				c.news = true
			}
			now[m.PID] = m.Start
		}
		c.told[t] = now // the guardian keeps what it was told; we only avoid repeating it
	}
	for pid, st := range all.stat {
		if st.PPID != c.self || leaders[pid] {
			continue
		}
		if s, ok := members[pid]; ok && s == st.StartTicks {
			c.adopted[pid] = s
		}
		if st.State != 'Z' {
			continue
		}
		foreignGroup := st.PGID != pid && (pgids[st.PGID] || st.PGID != c.pgid)
		// A zombie child in a run's cgroup that is not its leader (those
		// are excluded above; a forgotten tree's leader was waited for) is
		// an orphan: no exec.Cmd of ours is started into a run's cgroup
		// but the leader.
		inRun := len(cgs) > 0 && cgs[zombieCgroup(pid)]
		if c.adopted[pid] == st.StartTicks || foreignGroup || st.SID != c.sid || inRun {
			var info unix.Siginfo
			if unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOHANG, nil) != nil {
				zombies++ // not reapable yet: look again
			}
			delete(c.adopted, pid)
		}
	}
	for pid, s := range c.adopted {
		if st, ok := all.stat[pid]; !ok || st.StartTicks != s {
			delete(c.adopted, pid)
		}
	}
	c.mu.Lock()
	for pid, s := range c.left {
		if st, ok := all.stat[pid]; !ok || st.StartTicks != s {
			delete(c.left, pid)
		}
	}
	c.mu.Unlock()
	return len(c.adopted) + zombies
}

// knownToken is a process's run token as read from its environment.
type knownToken struct {
	start uint64 // start ticks: the process it was read from
	token string
}

func containsTree(ts []*Tree, t *Tree) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}

// membersIn is Members on an existing read of /proc.
func (t *Tree) membersIn(all *procs) []Member {
	t.mu.Lock()
	known := make(map[int]uint64, len(t.known))
	for k, v := range t.known {
		known[k] = v
	}
	t.mu.Unlock()
	var ms []Member
	if t.cg != nil {
		ms = t.cg.members(all, known)
	} else {
		ms = treeMembers(all, t.PID, t.PGID, t.token, t.start, known)
	}
	t.remember(ms)
	return ms
}
