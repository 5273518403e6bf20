//go:build !linux

package proc

import "errors"

// groupIsOurs cannot inspect group members portably; without the leader we
// do not touch the group.
func groupIsOurs(int, int64, string) bool { return false }

// GroupMembers is only implemented on Linux.
func GroupMembers(int) []int { return nil }

// Stat is only read on Linux.
type Stat struct {
	PID, PPID, PGID int
	SID             int
	State           byte
	CPUTicks        uint64
	StartTicks      uint64
	RSSPages        int64
}

// ScanGroups is only implemented on Linux; elsewhere the watchdog measures
// each sidecar's leader alone.
func ScanGroups() map[int][]Stat { return nil }

// CgroupStats is only implemented on Linux.
func CgroupStats(string) ([]Stat, error) { return nil, errors.ErrUnsupported }
