package proc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"

	"github.com/tklauser/go-sysconf"
	"golang.org/x/sys/unix"
)

// CreateTime returns the process's start time in milliseconds since the
// epoch: the kernel's boot time (btime in /proc/stat) plus the process's
// start after boot (starttime in /proc/<pid>/stat, in clock ticks), to the
// tick (10 ms).
//
// gopsutil's create time, used before, had two faults for an identity:
//   - it kept whole seconds (it divides the ticks before adding), so a pid
//     reused within the same second passed for the recorded process;
//   - it took the boot time as now − /proc/uptime, truncated to the second.
//     That difference wavers by the 10 ms of uptime's resolution, so where
//     the boot fell in the last hundredth of a second (about one boot in a
//     hundred) two processes disagreed by a whole second: the guardian or
//     the next launch then took the app's own sidecar for a reused pid and
//     left it alone. The kernel's btime is one number for every reader.
//
// The boot time is read once per process (bootTime): a step of the system
// clock moves btime, and a process's create time must not change under it
// while we run. A process that starts after such a step (the next launch)
// reads the moved btime, so a record made before the step reads as
// Replaced there and is left alone — never a wrong signal; the run's
// cgroup and token still end it.
func CreateTime(pid int) (int64, error) {
	st, err := ReadStat(pid)
	if err != nil {
		return 0, fmt.Errorf("process %d: %w", pid, err)
	}
	ct, err := createTimeOf(st)
	if err != nil {
		return 0, fmt.Errorf("process %d create time: %w", pid, err)
	}
	return ct, nil
}

// Check tells whether pid is still the process that had createTime, from
// one read of its /proc stat. When the identity cannot be established —
// createTime is 0 (it could not be read when the process was recorded) or
// the process's stat cannot be read now — and a process exists under pid,
// the answer is Unknown, and no caller ever signals, adopts or counts as
// ours a process it was told is Unknown: the pid may have been reused.
func Check(pid int, createTime int64) Liveness {
	if pid <= 0 {
		return Gone
	}
	st, err := ReadStat(pid)
	if err != nil {
		if exists(pid) {
			return Unknown // /proc hidden from us (hidepid), or not mounted
		}
		return Gone
	}
	ct, err := createTimeOf(st)
	switch {
	case err != nil, createTime == 0:
		return Unknown
	case ct != createTime:
		return Replaced
	case st.State == 'Z':
		return Zombie
	}
	return Alive
}

// exists reports whether some process (or thread) has pid: signal 0 checks
// without sending anything; EPERM means it exists but is not ours to signal.
func exists(pid int) bool {
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}

func createTimeOf(st Stat) (int64, error) {
	boot, err := bootTime()
	if err != nil {
		return 0, err
	}
	hz := ClockTicks()
	return boot*1000 + int64(st.StartTicks)*1000/hz, nil
}

// primeIdentity reads the boot time now (see CreateTime).
func primeIdentity() { _, _ = bootTime() }

// bootTime is the kernel's boot time in seconds since the epoch, read once.
var bootTime = sync.OnceValues(func() (int64, error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, fmt.Errorf("boot time: %w", err)
	}
	return parseBootTime(data)
})

func parseBootTime(stat []byte) (int64, error) {
	for line := range bytes.Lines(stat) {
		if v, ok := bytes.CutPrefix(line, []byte("btime ")); ok {
			t, err := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
			if err != nil || t <= 0 {
				return 0, fmt.Errorf("boot time: bad btime line %q", bytes.TrimSpace(line))
			}
			return t, nil
		}
	}
	return 0, errors.New("boot time: no btime line in /proc/stat")
}

// ClockTicks is the unit of the times in /proc/<pid>/stat (USER_HZ: 100
// on every architecture Outrigger ships to).
func ClockTicks() int64 { return clockTicks() }

var clockTicks = sync.OnceValue(func() int64 {
	if t, err := sysconf.Sysconf(sysconf.SC_CLK_TCK); err == nil && t > 0 {
		return t
	}
	return 100
})
