package proc

import (
	"fmt"
	"time"
)

// EndLeftover ends the process tree a record describes if, and only if, it
// is still the process we started (same pid and create time) or, when that
// leader is gone, its group still holds processes started after it (the
// grandchild of a PyInstaller sidecar). It returns whether it ended
// something. A pid now used by another process is never touched.
func EndLeftover(r Record, grace time.Duration) (bool, error) {
	switch Check(r.PID, r.CreateTime) {
	case Replaced:
		return false, nil
	case Alive, Zombie:
	case Gone:
		if !GroupAlive(r.PGID) || !groupIsOurs(r.PGID, r.CreateTime) {
			return false, nil
		}
	}
	if err := TerminateGroup(r.PGID); err != nil {
		return false, fmt.Errorf("end leftover %s (pid %d): %w", r.Name, r.PID, err)
	}
	deadline := time.Now().Add(grace)
	for GroupAlive(r.PGID) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond) // polling a foreign process: no event to wait on
	}
	if GroupAlive(r.PGID) {
		if err := KillGroup(r.PGID); err != nil {
			return true, fmt.Errorf("kill leftover %s (pid %d): %w", r.Name, r.PID, err)
		}
	}
	return true, nil
}
