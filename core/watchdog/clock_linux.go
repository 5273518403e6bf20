package watchdog

import (
	"outrigger/core/proc"
)

// clockTicks is the unit of the CPU times in /proc (USER_HZ, normally 100).
var clockTicks = float64(proc.ClockTicks())

// liveStart is pid's start ticks when it is alive and not a zombie, from
// one read of its /proc stat; ok is false when that read cannot tell.
func liveStart(pid int) (start uint64, ok bool) {
	st, err := proc.ReadStat(pid)
	if err != nil || st.State == 'Z' {
		return 0, false
	}
	return st.StartTicks, true
}
