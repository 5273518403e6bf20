//go:build !linux

package proc

import "syscall"

// Outside Linux a tree is its process group (Unix) or job object (Windows):
// there is no /proc to find a daemon that left it.

// listsMembers: Tree.Members lists nothing here (no /proc).
const listsMembers = false

func scanTree(int, int, string, uint64, map[int]uint64) []Member { return nil }

func startTicks(int) uint64 { return 0 }

func signalMember(Member, syscall.Signal) error { return nil }

func tokenProcs(string) []Member { return nil }

func memberAlive(Member) bool { return false }
