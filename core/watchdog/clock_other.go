//go:build !linux

package watchdog

// clockTicks is unused off Linux, where gopsutil measures CPU.
const clockTicks = 100.0
