package watchdog

import "github.com/tklauser/go-sysconf"

// clockTicks is the unit of the CPU times in /proc (USER_HZ, normally 100).
var clockTicks = func() float64 {
	if t, err := sysconf.Sysconf(sysconf.SC_CLK_TCK); err == nil && t > 0 {
		return float64(t)
	}
	return 100
}()
