package proc

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// A cgroup v2 per run, where the system lets us make one (see doc.go):
// every process the run starts is born in it (the leader is placed there
// by clone3 at fork, CLONE_INTO_CGROUP; its descendants inherit it), and
// leaving it takes write access to a cgroup.procs file above it, which
// setsid, a double fork or a cleared environment do not give. So
// cgroup.procs is the run's membership and cgroup.kill ends it whole.
//
// We make the run's cgroup a child of our own and enable no controller
// in it: "no internal processes" forbids a cgroup with processes (ours,
// the app) to hand domain controllers down, and writing subtree_control is
// not ours to do on a desktop whose systemd owns the tree. Accounting (CPU,
// memory per run) therefore stays with /proc.
//
// cgroup.kill (Linux 5.14) is required: without it ending a run means
// reading cgroup.procs and signalling each pid in a loop that a forking
// process can outrun (the freezer would fix that, at the price of a third
// way to end a tree). On older kernels the token path holds the run.

var cgroups struct {
	once  sync.Once
	setup cgroupSetup
	seq   atomic.Uint64
	off   atomic.Bool // a run's cgroup could not be made after the probe passed
	warn  sync.Once
	// Start → Attach: the cgroup each started command was placed in.
	placed sync.Map // *exec.Cmd → *cgroup
}

type cgroupSetup struct {
	base   string // our own cgroup's directory: runs' cgroups are made here
	prefix string // outrigger-<our pid>-<our start ticks>-
	why    string // why runs get no cgroup ("" when they do)
}

// CgroupsInUse reports whether runs started now get a cgroup of their own,
// and if not, why.
func CgroupsInUse() (bool, string) {
	s, ok := cgroupsReady()
	if !ok && s.why == "" {
		return false, "a run's cgroup could not be made after the check at the first start passed (see the warning logged then)"
	}
	return ok, s.why
}

func cgroupsReady() (cgroupSetup, bool) {
	cgroups.once.Do(func() {
		cgroups.setup = detectCgroups()
		if why := cgroups.setup.why; why != "" {
			slog.Info("sidecar containment: no cgroup per run; process group and run token only", "why", why)
		} else {
			slog.Debug("sidecar containment: a cgroup v2 per run", "under", cgroups.setup.base)
		}
	})
	s := cgroups.setup
	return s, s.why == "" && !cgroups.off.Load()
}

// detectCgroups finds our cgroup v2 directory and proves that a child of
// it can be made and a process born in it: mkdir, cgroup.kill present, and
// a fork with CLONE_INTO_CGROUP whose exec fails on purpose (no program
// runs; the fork is what is tested).
func detectCgroups() cgroupSetup {
	if os.Getenv(NoCgroupEnv) == "1" {
		return cgroupSetup{why: NoCgroupEnv + "=1"}
	}
	base, err := OwnCgroupDir()
	if err != nil {
		return cgroupSetup{why: err.Error()}
	}
	ticks := startTicks(os.Getpid())
	if ticks == 0 {
		return cgroupSetup{why: "cannot read our own start time"}
	}
	s := cgroupSetup{base: base, prefix: fmt.Sprintf("outrigger-%d-%d-", os.Getpid(), ticks)}
	if err := probeCgroup(filepath.Join(base, s.prefix+"probe")); err != nil {
		return cgroupSetup{why: err.Error()}
	}
	return s
}

func probeCgroup(dir string) error {
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fmt.Errorf("cannot make a cgroup: %w", err)
	}
	defer os.Remove(dir)
	if _, err := os.Stat(filepath.Join(dir, "cgroup.kill")); err != nil {
		return fmt.Errorf("no cgroup.kill (Linux before 5.14): %w", err)
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open cgroup: %w", err)
	}
	defer unix.Close(fd)
	// ENOTDIR comes from the child's exec, after clone3 placed it: the
	// placement works. clone3 itself never fails with it.
	_, err = syscall.ForkExec("/dev/null/outrigger-cgroup-probe", []string{"probe"},
		&syscall.ProcAttr{Sys: &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}})
	if !errors.Is(err, syscall.ENOTDIR) {
		return fmt.Errorf("cannot start a process in a cgroup (clone3 CLONE_INTO_CGROUP): %v", err)
	}
	return nil
}

// OwnCgroupDir is our cgroup v2 directory: /proc/self/cgroup's 0:: line
// under the cgroup2 mount of /proc/self/mountinfo. Our runs' cgroups are
// made in it, and a sweep looks in it for a dead instance's.
func OwnCgroupDir() (string, error) {
	mount, root, err := cgroup2Mount()
	if err != nil {
		return "", err
	}
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	self := ""
	for _, line := range strings.Split(string(data), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			self = p
		}
	}
	if self == "" {
		return "", errors.New("no cgroup v2 line in /proc/self/cgroup")
	}
	rel := self
	if root != "/" {
		var ok bool
		if rel, ok = strings.CutPrefix(self, root); !ok || (rel != "" && rel[0] != '/') {
			return "", fmt.Errorf("our cgroup %s is outside the cgroup2 mount's root %s", self, root)
		}
	}
	return filepath.Join(mount, rel), nil
}

// cgroup2Mount is where the cgroup2 hierarchy is mounted (the unified
// hierarchy: /sys/fs/cgroup, or /sys/fs/cgroup/unified on a hybrid host)
// and the mount's root within it.
func cgroup2Mount() (mount, root string, err error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent major:minor root mountpoint options [optional...] - fstype source superoptions
		fields := strings.Fields(sc.Text())
		for i := 6; i+1 < len(fields); i++ {
			if fields[i] == "-" {
				if fields[i+1] == "cgroup2" {
					return unescapeMount(fields[4]), unescapeMount(fields[3]), nil
				}
				break
			}
		}
	}
	return "", "", errors.New("no cgroup2 mount (a cgroup v1 only system)")
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// isRun tells a sidecar's run (Prepare gave it a token) from any other
// command started through Start.
func isRun(cmd *exec.Cmd) (name string, ok bool) {
	for _, kv := range cmd.Env {
		if strings.HasPrefix(kv, TreeEnv+"=") {
			ok = true
		}
		if v, found := strings.CutPrefix(kv, "OUTRIGGER_SIDECAR="); found {
			name = v
		}
	}
	if name == "" {
		name = filepath.Base(cmd.Path)
	}
	return name, ok
}

// placeInCgroup makes a cgroup for cmd's run and asks for the child to be
// born in it; the returned fd is closed by the caller after the fork. A
// failure here (none expected after the probe) turns cgroups off for the
// rest of the app's life, with one warning: the run goes on without.
func placeInCgroup(cmd *exec.Cmd) (*cgroup, int) {
	name, ok := isRun(cmd)
	if !ok {
		return nil, -1
	}
	s, ok := cgroupsReady()
	if !ok {
		return nil, -1
	}
	cg := &cgroup{dir: filepath.Join(s.base, s.prefix+strconv.FormatUint(cgroups.seq.Add(1), 10)+"-"+cgroupLabel(name))}
	if err := os.Mkdir(cg.dir, 0o755); err != nil {
		cgroupsFailed(err)
		return nil, -1
	}
	fd, err := unix.Open(cg.dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		_ = cg.remove()
		cgroupsFailed(err)
		return nil, -1
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, fd
	return cg, fd
}

// started ends what placeInCgroup began, once cmd.Start returned err.
func (cg *cgroup) started(cmd *exec.Cmd, fd int, err error) {
	unix.Close(fd)
	cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = false, 0
	if err != nil {
		_ = cg.remove()
		// These come from clone3 only (a bad program gives ENOENT, EACCES,
		// ENOEXEC): the next runs do without.
		for _, e := range []error{syscall.EBUSY, syscall.EOPNOTSUPP, syscall.ENOSYS, syscall.EINVAL} {
			if errors.Is(err, e) {
				cgroupsFailed(err)
			}
		}
		return
	}
	cgroups.placed.Store(cmd, cg)
}

func cgroupsFailed(err error) {
	cgroups.off.Store(true)
	cgroups.warn.Do(func() {
		slog.Warn("sidecar containment: cannot make a run's cgroup; process group and run token only from now on", "err", err)
	})
}

// takeCgroup is the cgroup Start placed cmd in (nil if none).
func takeCgroup(cmd *exec.Cmd) *cgroup {
	if v, ok := cgroups.placed.LoadAndDelete(cmd); ok {
		return v.(*cgroup)
	}
	return nil
}

// cgroupLabel keeps a sidecar's name readable in a cgroup's name: a cgroup
// name is one path element, so anything but [A-Za-z0-9_.] becomes '_'.
func cgroupLabel(name string) string {
	b := []byte(name)
	if len(b) > 64 {
		b = b[:64]
	}
	for i, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.') {
			b[i] = '_'
		}
	}
	return string(b)
}

// parseRunCgroup reads the app instance (pid, start ticks) out of a run
// cgroup's name; ok is false for any other name.
func parseRunCgroup(name string) (pid int, ticks uint64, ok bool) {
	rest, found := strings.CutPrefix(name, "outrigger-")
	if !found {
		return 0, 0, false
	}
	f := strings.SplitN(rest, "-", 3)
	if len(f) < 3 {
		return 0, 0, false
	}
	pid, err1 := strconv.Atoi(f[0])
	ticks, err2 := strconv.ParseUint(f[1], 10, 64)
	if err1 != nil || err2 != nil || pid <= 1 || ticks == 0 {
		return 0, 0, false
	}
	return pid, ticks, true
}

// instanceAlive reports whether the app instance (pid, start ticks) that
// named a cgroup still runs. Ourselves included: a cgroup of ours is ours
// to end, never a sweep's.
func instanceAlive(pid int, ticks uint64) bool {
	st, err := ReadStat(pid)
	return err == nil && st.StartTicks == ticks && st.State != 'Z'
}

// leftoverCgroup is the cgroup at dir if it is a run cgroup of an app
// instance that is no longer running (and so nobody else's to end). A path
// read from a file (the state file) is checked to be exactly that: a run
// cgroup's name, under the cgroup2 mount, nothing to resolve.
func leftoverCgroup(dir string) *cgroup {
	cg := runCgroupAt(dir)
	if cg == nil {
		return nil
	}
	if pid, ticks := cgroupOwner(dir); instanceAlive(pid, ticks) {
		return nil
	}
	return cg
}

// ownerXattr names the app instance ("<pid>-<start ticks>") that adopted
// a run cgroup made by another (cgroup v2 has no rename): from then on the
// cgroup is that instance's, to hold and to leave to its guardian.
const ownerXattr = "user.outrigger.owner"

// cgroupOwner is the app instance a run cgroup belongs to: the one that
// adopted it, else the one that made it (its name).
func cgroupOwner(dir string) (pid int, ticks uint64) {
	buf := make([]byte, 64)
	if n, err := unix.Getxattr(dir, ownerXattr, buf); err == nil {
		if p, t, ok := parseRunCgroup("outrigger-" + string(buf[:n]) + "-adopted"); ok {
			return p, t
		}
	}
	pid, ticks, _ = parseRunCgroup(filepath.Base(dir))
	return pid, ticks
}

// adoptCgroup takes over a dead instance's run cgroup (supervisor's Adopt)
// by marking it ours; nil if it is none, or cannot be marked (then the
// adopted run is held by its group alone, as before cgroups).
func adoptCgroup(dir string) *cgroup {
	cg := leftoverCgroup(dir)
	if cg == nil {
		return nil
	}
	me := fmt.Sprintf("%d-%d", os.Getpid(), startTicks(os.Getpid()))
	if err := unix.Setxattr(cg.dir, ownerXattr, []byte(me), 0); err != nil {
		slog.Debug("cannot adopt a run cgroup", "cgroup", cg.dir, "err", err)
		return nil
	}
	return cg
}

// runCgroupAt is the run cgroup at dir, if dir is one that exists.
func runCgroupAt(dir string) *cgroup {
	if dir == "" || filepath.Clean(dir) != dir || !filepath.IsAbs(dir) {
		return nil
	}
	mount, _, err := cgroup2Mount()
	if err != nil || !strings.HasPrefix(dir, mount+"/") {
		return nil
	}
	if _, _, ok := parseRunCgroup(filepath.Base(dir)); !ok {
		return nil
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil
	}
	return &cgroup{dir: dir}
}

// pids lists the processes in the cgroup (zombies are not listed: the
// kernel drops a process from cgroup.procs when it exits).
func (cg *cgroup) pids() ([]int, error) {
	var buf [256]byte
	data, err := readKernelFile(filepath.Join(cg.dir, "cgroup.procs"), buf[:0])
	if err != nil {
		return nil, err
	}
	var out []int
	for _, f := range strings.Fields(string(data)) {
		if pid, err := strconv.Atoi(f); err == nil {
			out = append(out, pid)
		}
	}
	return out, nil
}

// members is the cgroup's processes as Members, plus those of known
// (pid → start ticks) that are zombies now (still ours to reap) or on
// their way to it. all, if not nil, is a read of /proc to take the
// members' stats from.
func (cg *cgroup) members(all *procs, known map[int]uint64) []Member {
	return cg.membersAt(all, known, statNow)
}

// statNow is pid's stat read from /proc now.
func statNow(pid int) (Stat, bool) {
	st, err := ReadStat(pid)
	return st, err == nil
}

// membersAt is members with now as the read of a known process that is
// no longer in cgroup.procs. That one is always read after cgroup.procs,
// never taken from all: all may be older (the containment pass reads
// /proc, then each run's cgroup.procs), and a member that began to exit
// in between looks there alive and not exiting, like one moved to
// another cgroup. Dropped for that, it no longer kept its run Lingering,
// and a Stop returned with it still exiting (a pass on SIGCHLD runs just
// as a stopped run's leader and daemon exit together; 1 make test in 20).
func (cg *cgroup) membersAt(all *procs, known map[int]uint64, now func(int) (Stat, bool)) []Member {
	pids, _ := cg.pids() // gone: no members
	stat := func(pid int) (Stat, bool) {
		if all != nil {
			st, ok := all.stat[pid]
			return st, ok
		}
		return now(pid)
	}
	out := make([]Member, 0, len(pids))
	in := map[int]bool{}
	for _, pid := range pids {
		if st, ok := stat(pid); ok {
			in[pid] = true
			out = append(out, Member{PID: pid, Start: st.StartTicks, PGID: st.PGID, Zombie: st.State == 'Z'})
		}
	}
	for pid, start := range known {
		if in[pid] {
			continue
		}
		st, ok := now(pid)
		switch {
		case !ok || st.StartTicks != start:
		case st.State == 'Z':
			out = append(out, Member{PID: pid, Start: start, PGID: st.PGID, Zombie: true})
		case st.Flags&pfExiting != 0:
			// Killed and on its way out: the kernel takes an exiting
			// process out of cgroup.procs (cgroup_exit) a moment before
			// it becomes a zombie (exit_notify). Forgotten by a scan in
			// that moment (Kill's, right after cgroup.kill), it no longer
			// kept the run Lingering, and Stop returned with it alive.
			out = append(out, Member{PID: pid, Start: start, PGID: st.PGID})
		}
	}
	return out
}

// kill SIGKILLs every process in the cgroup at once, forks in flight
// included.
func (cg *cgroup) kill() error {
	err := os.WriteFile(filepath.Join(cg.dir, "cgroup.kill"), []byte("1"), 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // already removed
	}
	return err
}

// remove deletes the (empty) cgroup; one already gone is fine.
func (cg *cgroup) remove() error {
	err := os.Remove(cg.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// empty reports whether no process is left in the cgroup: cgroup.events
// says "populated 0" only once every process in it has finished exiting
// (zombies do not count), while cgroup.procs already skips one that is
// still on its way out, and until then the cgroup cannot be removed.
func (cg *cgroup) empty() bool {
	data, err := os.ReadFile(filepath.Join(cg.dir, "cgroup.events"))
	if err != nil {
		return true // removed: nothing in it
	}
	return strings.Contains(string(data), "populated 0")
}

// killAndRemove ends what is left in the cgroup and deletes it, waiting at
// most wait for the kernel to finish the kill (a process in
// uninterruptible sleep dies when it wakes).
func (cg *cgroup) killAndRemove(wait time.Duration) error {
	if err := cg.kill(); err != nil {
		return fmt.Errorf("cgroup.kill %s: %w", cg.dir, err)
	}
	deadline := time.Now().Add(wait)
	for !cg.empty() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // the kernel's kill in progress: nothing to wait on
	}
	return cg.remove()
}

// cgroupStrays lists the live processes of each cgroup, for a SIGTERM.
func cgroupStrays(cgs []*cgroup) []Member {
	var out []Member
	for _, cg := range cgs {
		for _, m := range cg.members(nil, nil) {
			if !m.Zombie {
				out = append(out, m)
			}
		}
	}
	return out
}

// zombieCgroup is the name (last element) of the cgroup a zombie was in
// when it exited, from /proc/<pid>/cgroup ("" if unknown).
func zombieCgroup(pid int) string {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			return filepath.Base(strings.TrimSuffix(p, " (deleted)"))
		}
	}
	return ""
}

// EndLeftoverCgroups ends every run cgroup of an app instance that is no
// longer running found beside ours — what a killed app and guardian left,
// recorded in a state file or not — except those in keep (dirs of runs a
// launch adopts): SIGTERM to each process, up to grace, SIGKILL to the
// cgroup; then it removes them, empty ones too. It returns the dirs that
// still held processes. Cgroups of live instances (another app running
// beside us, tests in parallel) are never touched.
func EndLeftoverCgroups(grace time.Duration, keep map[string]bool) ([]string, error) {
	base, err := OwnCgroupDir()
	if err != nil {
		return nil, nil // no cgroup v2: nothing of ours can be there
	}
	ents, err := os.ReadDir(base)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", base, err)
	}
	var cgs []*cgroup
	for _, e := range ents {
		dir := filepath.Join(base, e.Name())
		if e.IsDir() && !keep[dir] {
			if cg := leftoverCgroup(dir); cg != nil {
				cgs = append(cgs, cg)
			}
		}
	}
	return endCgroups(cgs, grace)
}

// endCgroups is EndLeftoverCgroups on the cgroups found.
func endCgroups(cgs []*cgroup, grace time.Duration) (ended []string, err error) {
	var held []*cgroup
	for _, cg := range cgs {
		if !cg.empty() {
			held = append(held, cg)
			ended = append(ended, cg.dir)
		}
	}
	strays := cgroupStrays(held)
	signalAll(nil, strays, false)
	deadline := time.Now().Add(grace)
	for len(strays) > 0 && time.Now().Before(deadline) {
		_, strays = stillAlive(nil, strays)
		time.Sleep(20 * time.Millisecond) // foreign processes: nothing to wait on but time
	}
	var errs []error
	for _, cg := range cgs {
		if e := cg.killAndRemove(5 * time.Second); e != nil {
			errs = append(errs, e)
		}
	}
	return ended, errors.Join(errs...)
}

// cgroupMembers is cg.members on a fresh look (Tree.Members).
func cgroupMembers(cg *cgroup, known map[int]uint64) []Member { return cg.members(nil, known) }

// cgroupLingering reports whether a process of the run is still there: in
// the cgroup, or one of its members seen last (known, pid → start ticks;
// the leader aside) still shown alive. The kernel takes an exiting task out
// of its cgroup (cgroup_exit) a moment before it becomes a zombie
// (exit_notify): between the two the cgroup is empty while /proc still
// shows the process running, and a Stop that returned then left it
// visibly alive (1 in 10 race runs of the daemon test under load).
func cgroupLingering(cg *cgroup, known map[int]uint64, leader int) bool {
	if !cg.empty() {
		return true
	}
	for pid, start := range known {
		if pid == leader {
			continue
		}
		if st, err := ReadStat(pid); err == nil && st.StartTicks == start && st.State != 'Z' && st.State != 'X' {
			return true
		}
	}
	return false
}
