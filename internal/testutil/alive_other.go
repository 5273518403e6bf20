//go:build !unix && !windows

package testutil

// ProcessAlive is not implemented on this platform; it always says false.
func ProcessAlive(pid int) bool { return false }
