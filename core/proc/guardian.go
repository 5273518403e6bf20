package proc

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// GuardianEnv marks a process started as the guardian. An executable that
// supervises sidecars calls RunGuardianIfRequested first thing in main (and
// test binaries in TestMain).
const GuardianEnv = "OUTRIGGER_GUARDIAN"

// Guardian is the supervisor's handle on its guardian process: a tiny copy
// of the same executable that holds the read end of a pipe whose write end
// only the supervisor has. When the supervisor dies, in any way, the kernel
// closes that pipe; the guardian reads EOF and ends every process group it
// was told about. A parent-death signal alone reaches only direct children,
// not the grandchild that serves in a PyInstaller --onefile sidecar.
//
// On Linux the guardian is told each run's cgroup where runs have one,
// and ends every process in it; for a run without one it learns every
// process the tree gains outside its group (a daemon), by pid and start
// time, from a goroutine of ours that scans /proc (see
// containment_linux.go). That goroutine also makes the app the subreaper
// of its sidecars' orphans and reaps them.
type Guardian struct {
	mu      sync.Mutex
	w       *os.File
	cmd     *exec.Cmd
	contain *containment
}

// StartGuardian starts exe (normally os.Executable()) in guardian mode.
func StartGuardian(exe string) (*Guardian, error) {
	// We and the guardian read the boot time within a moment of each
	// other, so a later step of the clock moves neither's create times.
	primeIdentity()
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("guardian pipe: %w", err)
	}
	cmd := exec.Command(exe)
	// LC_ALL: the executable may link a GUI toolkit whose package init
	// complains about a "C" locale; the guardian prints nothing of its own.
	cmd.Env = append(os.Environ(), GuardianEnv+"=1", "LC_ALL=en_US.UTF-8")
	cmd.Stdin = r
	cmd.Stderr = os.Stderr
	guardianAttrs(cmd)
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("start guardian: %w", err)
	}
	r.Close() // only the guardian holds the read end now
	g := &Guardian{w: w, cmd: cmd}
	g.contain = startContainment(g)
	return g, nil
}

// The line protocol, one line per fact:
//
//	+ <pgid> <pid> <createTime ms> [<token>]  a tree started (again with its create time once read)
//	d <pgid> <pid> <start ticks>              a process of that tree outside its group
//	c <pgid> <cgroup dir>                     the tree's cgroup (Linux; the rest of the line)
//	- <pgid>                                  the tree has ended
//
// A createTime of 0 means "not read yet": the guardian reads it itself.

// Watch tells the guardian about a started tree.
func (g *Guardian) Watch(t *Tree, createTime int64) error {
	if g == nil {
		return nil
	}
	g.contain.watch(t)
	tok := TreeToken(t)
	if tok == "" {
		tok = "-"
	}
	line := fmt.Sprintf("+ %d %d %d %s\n", t.PGID, t.PID, createTime, tok)
	if dir := TreeCgroup(t); dir != "" {
		line += fmt.Sprintf("c %d %s\n", t.PGID, dir)
	}
	return g.send(line)
}

// Forget tells the guardian a tree has ended.
func (g *Guardian) Forget(t *Tree) error {
	if g == nil {
		return nil
	}
	g.contain.forget(t)
	return g.send(fmt.Sprintf("- %d\n", t.PGID))
}

// descendant tells the guardian about a member of a tree outside its group.
func (g *Guardian) descendant(pgid int, m Member) error {
	return g.send(fmt.Sprintf("d %d %d %d\n", pgid, m.PID, m.Start))
}

func (g *Guardian) send(line string) error {
	if g == nil {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.w == nil {
		return fmt.Errorf("guardian closed")
	}
	_, err := io.WriteString(g.w, line)
	return err
}

// Close ends the guardian after a clean shutdown: it closes the pipe, so
// the guardian ends whatever it still knows about (normally nothing) and
// exits, and waits for it.
func (g *Guardian) Close() error {
	if g == nil {
		return nil
	}
	g.mu.Lock()
	w := g.w
	g.w = nil
	g.mu.Unlock()
	if w == nil {
		return nil
	}
	g.contain.close()
	w.Close()
	return g.cmd.Wait()
}

// RunGuardianIfRequested turns this process into the guardian when it was
// started as one, and never returns in that case.
func RunGuardianIfRequested() {
	if os.Getenv(GuardianEnv) != "1" {
		return
	}
	runGuardian(os.Stdin)
	os.Exit(0)
}

type watched struct {
	pid        int
	createTime int64 // 0: the leader's identity could not be established
	token      string
	members    map[int]uint64 // outside the group: pid → start ticks
	cgroup     string         // the run's cgroup dir ("" if none)
}

// guardianGrace is how long the guardian waits after SIGTERM before SIGKILL.
const guardianGrace = 750 * time.Millisecond

// runGuardian reads watch/forget lines until EOF, then ends every tree
// still watched: SIGTERM, a short grace, SIGKILL.
func runGuardian(in io.Reader) {
	ignoreSignals()
	primeIdentity() // the boot time now, as the app read it: before any clock step
	endTrees(readWatch(in), guardianGrace)
}

// readWatch applies the line protocol until EOF and returns the trees still
// watched, by pgid. Malformed lines are skipped: the supervisor is the only
// writer, and a half line at its death must not stop the guardian.
func readWatch(in io.Reader) map[int]*watched {
	trees := map[int]*watched{}
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		pgid, err := strconv.Atoi(f[1])
		if err != nil || pgid <= 1 {
			continue
		}
		switch f[0] {
		case "+":
			if len(f) < 4 {
				continue
			}
			pid, err1 := strconv.Atoi(f[2])
			ct, err2 := strconv.ParseInt(f[3], 10, 64)
			if err1 != nil || err2 != nil || pid <= 1 {
				continue
			}
			w := trees[pgid]
			if w == nil || w.pid != pid {
				w = &watched{pid: pid}
				trees[pgid] = w
			}
			if ct == 0 && w.createTime == 0 {
				// Read it now, while the leader is certainly the supervisor's
				// unreaped child; if that fails, it is never acted on by pid.
				ct, _ = CreateTime(pid)
			}
			if ct != 0 {
				w.createTime = ct
			}
			if len(f) >= 5 && f[4] != "-" {
				w.token = f[4]
			}
		case "d":
			if len(f) < 4 {
				continue
			}
			pid, err1 := strconv.Atoi(f[2])
			start, err2 := strconv.ParseUint(f[3], 10, 64)
			if w := trees[pgid]; w != nil && err1 == nil && err2 == nil && pid > 1 && start != 0 {
				if w.members == nil {
					w.members = map[int]uint64{}
				}
				w.members[pid] = start // a pid names one member at a time
			}
		case "c":
			// The dir is the rest of the line (a cgroup name may hold a space).
			parts := strings.SplitN(sc.Text(), " ", 3)
			if w := trees[pgid]; w != nil && len(parts) == 3 && filepath.IsAbs(parts[2]) {
				w.cgroup = parts[2]
			}
		case "-":
			delete(trees, pgid)
		}
	}
	return trees
}

// endTrees ends what is left of each tree: its group if the group is still
// ours, every recorded member that is still the same process, and every
// process that carries the tree's token. A pid whose identity cannot be
// established is never signalled.
func endTrees(trees map[int]*watched, grace time.Duration) {
	var groups []int
	var strays []Member
	var cgs []*cgroup
	for pgid, w := range trees {
		if groupStillOurs(pgid, w.pid, w.createTime, w.token) {
			groups = append(groups, pgid)
		}
		for pid, start := range w.members {
			strays = append(strays, Member{PID: pid, Start: start})
		}
		strays = append(strays, tokenProcs(w.token)...)
		// Told by the app: ended whether it is dead (the usual case) or
		// closed us with runs still going.
		if cg := runCgroupAt(w.cgroup); cg != nil {
			cgs = append(cgs, cg)
		}
	}
	defer func() {
		// SIGKILL to whatever the cgroups still hold (forked since the
		// SIGTERM, say), and their dirs removed.
		_, _ = endCgroups(cgs, 0)
	}()
	strays = append(strays, cgroupStrays(cgs)...)
	signalAll(groups, strays, false)
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		groups, strays = stillAlive(groups, strays)
		if len(groups) == 0 && len(strays) == 0 {
			return
		}
		time.Sleep(25 * time.Millisecond) // foreign processes: nothing to wait on but time
	}
	groups, strays = stillAlive(groups, strays)
	signalAll(groups, strays, true)
}

// groupStillOurs reports whether the group pgid is still the one our
// leader (pid, createTime) led: the leader is alive with its create time,
// or gone with only younger processes left in the group, one of them
// carrying the run's token if it had one (see groupIsOurs).
func groupStillOurs(pgid, pid int, createTime int64, token string) bool {
	if createTime == 0 || !GroupAlive(pgid) {
		return false
	}
	switch Check(pid, createTime) {
	case Alive, Zombie:
		return true
	case Gone:
		return groupIsOurs(pgid, createTime, token)
	}
	return false
}

func signalAll(groups []int, strays []Member, kill bool) {
	sig := syscall.SIGTERM
	if kill {
		sig = syscall.SIGKILL
	}
	for _, g := range groups {
		if kill {
			_ = KillGroup(g)
		} else {
			_ = TerminateGroup(g)
		}
	}
	for _, m := range strays {
		_ = signalMember(m, sig)
	}
}

func stillAlive(groups []int, strays []Member) ([]int, []Member) {
	var gs []int
	for _, g := range groups {
		if GroupAlive(g) {
			gs = append(gs, g)
		}
	}
	var ms []Member
	for _, m := range strays {
		if memberAlive(m) {
			ms = append(ms, m)
		}
	}
	return gs, ms
}
