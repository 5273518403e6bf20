package watchdog

import (
	"github.com/tklauser/go-sysconf"

	"outrigger/core/proc"
)

// clockTicks is the unit of the CPU times in /proc (USER_HZ, normally 100).
var clockTicks = func() float64 {
	if t, err := sysconf.Sysconf(sysconf.SC_CLK_TCK); err == nil && t > 0 {
		return float64(t)
	}
	return 100
}()

// liveStart is pid's start ticks when it is alive and not a zombie, from
// one read of its /proc stat; ok is false when that read cannot tell.
func liveStart(pid int) (start uint64, ok bool) {
	st, err := proc.ReadStat(pid)
	if err != nil || st.State == 'Z' {
		return 0, false
	}
	return st.StartTicks, true
}
