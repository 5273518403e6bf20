package proc

import (
	"fmt"
	"time"
)

// EndLeftover ends the process tree a record describes, and only what is
// provably ours: the group, if its leader is still the process we started
// (same pid and create time) or, when that leader is gone, if the group
// holds only processes started after it (the grandchild of a PyInstaller
// sidecar); and, on Linux, every process carrying the run's token (a daemon
// that left the group), and every process in the run's cgroup if the app
// instance that made it is no longer running (then the cgroup is removed).
// It sends SIGTERM, waits up to grace, then SIGKILLs what is left. It
// returns whether it ended something. A pid now used by another process,
// or whose identity cannot be established (no create time recorded, or
// none readable now), is never touched.
func EndLeftover(r Record, grace time.Duration) (bool, error) {
	group := false
	var unknown error
	switch Check(r.PID, r.CreateTime) {
	case Alive, Zombie:
		group = r.CreateTime != 0
	case Gone:
		group = r.CreateTime != 0 && GroupAlive(r.PGID) && groupIsOurs(r.PGID, r.CreateTime, r.Token)
	case Unknown:
		unknown = fmt.Errorf("leftover %s (pid %d): identity unknown (create time %d), not touched", r.Name, r.PID, r.CreateTime)
	}
	strays := tokenProcs(r.Token)
	var cgs []*cgroup
	if cg := leftoverCgroup(r.Cgroup); cg != nil {
		cgs = []*cgroup{cg}
		strays = append(strays, cgroupStrays(cgs)...)
		// SIGKILL to what it still holds after the grace, and its dir
		// removed (an empty one too).
		defer func() { _, _ = endCgroups(cgs, 0) }()
	}
	if !group && len(strays) == 0 {
		return false, unknown
	}
	var groups []int
	if group {
		groups = []int{r.PGID}
	}
	signalAll(groups, strays, false)
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		groups, strays = stillAlive(groups, strays)
		if len(groups) == 0 && len(strays) == 0 {
			return true, unknown
		}
		time.Sleep(20 * time.Millisecond) // polling a foreign process: no event to wait on
	}
	groups, strays = stillAlive(groups, strays)
	signalAll(groups, strays, true)
	return true, unknown
}
