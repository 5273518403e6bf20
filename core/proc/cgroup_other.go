//go:build !linux

package proc

import (
	"errors"
	"os/exec"
	"time"
)

// Cgroups are Linux's: elsewhere a run is held by its process group (Unix)
// or job object (Windows), and none of this is ever reached with a cgroup.

// CgroupsInUse is false outside Linux.
func CgroupsInUse() (bool, string) { return false, "cgroups are Linux only" }

// OwnCgroupDir: there is no cgroup outside Linux.
func OwnCgroupDir() (string, error) { return "", errors.New("cgroups are Linux only") }

// EndLeftoverCgroups has nothing to end outside Linux.
func EndLeftoverCgroups(time.Duration, map[string]bool) ([]string, error) { return nil, nil }

func takeCgroup(*exec.Cmd) *cgroup { return nil }

func leftoverCgroup(string) *cgroup { return nil }

func endCgroups([]*cgroup, time.Duration) ([]string, error) { return nil, nil }

func cgroupMembers(*cgroup, map[int]uint64) []Member { return nil }

func (cg *cgroup) kill() error   { return nil }
func (cg *cgroup) remove() error { return nil }

func runCgroupAt(string) *cgroup { return nil }

func cgroupStrays([]*cgroup) []Member { return nil }

func cgroupLingering(*cgroup, map[int]uint64, int) bool { return false }

func adoptCgroup(string) *cgroup { return nil }
