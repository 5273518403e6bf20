// Package cpustat reads how long a process has run, precisely enough for
// idle figures: the benchmarks and bench-scale measure an app idling at a
// few hundredths of a core, where /proc/PID/stat's utime and stime, counted
// in 10 ms ticks, say 0 or 1 tick per 30 s. Linux only; elsewhere it
// reports an error.
package cpustat

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// RunNanos is the time pid's live threads have run on a CPU, in
// nanoseconds: the sum of the first field of /proc/PID/task/TID/schedstat.
// A thread that ends while it is read is left out.
func RunNanos(pid int) (uint64, error) {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return 0, fmt.Errorf("cpustat: pid %d: %w", pid, err)
	}
	var sum uint64
	read := 0
	for _, t := range tasks {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, t.Name()))
		if err != nil {
			continue // the thread ended meanwhile
		}
		f := strings.Fields(string(data))
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("cpustat: pid %d thread %s: schedstat %q: %w", pid, t.Name(), data, err)
		}
		sum += v
		read++
	}
	if read == 0 {
		return 0, errors.New("cpustat: pid " + strconv.Itoa(pid) + ": no thread's schedstat could be read")
	}
	return sum, nil
}
