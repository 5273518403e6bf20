//go:build !linux

package watchdog

// clockTicks is unused off Linux, where gopsutil measures CPU.
const clockTicks = 100.0

// liveStart cannot tell off Linux: the caller asks proc.Check.
func liveStart(int) (start uint64, ok bool) { return 0, false }
