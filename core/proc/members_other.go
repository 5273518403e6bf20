//go:build !linux

package proc

// groupIsOurs cannot inspect group members portably; without the leader we
// do not touch the group.
func groupIsOurs(int, int64) bool { return false }

// GroupMembers is only implemented on Linux.
func GroupMembers(int) []int { return nil }
