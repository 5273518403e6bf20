package testutil

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"outrigger/core/proc"
)

// isolatedEnv is set (to the cgroup's directory) in a test process that
// IsolateCgroup moved, and so in every process it starts: they are in its
// cgroup already. A test binary re-run as a helper (an "app" that a test
// kills -9) must stay there, beside the runs its parent test sweeps.
const isolatedEnv = "OUTRIGGER_TEST_CGROUP"

// IsolateCgroup moves this test process into a cgroup of its own, made
// in the one it was in, so that the runs it and its children make are
// seen by their own sweeps only. An app sweeps the cgroup it lives in for
// the runs of dead instances (proc.EndLeftoverCgroups): test processes
// that share a cgroup (go test runs packages side by side; two make tests
// at once) would otherwise end each other's deliberately killed apps'
// daemons, or a test's own sweep would find its leftover already gone (1
// failure in about 40 runs of make test). Where the cgroup cannot be made
// or entered (no cgroup v2, no rights) tests run where they are, as
// before. undo moves the process back and ends what the tests left in it.
func IsolateCgroup() (undo func()) {
	noop := func() {}
	if os.Getenv(isolatedEnv) != "" {
		return noop
	}
	base, err := proc.OwnCgroupDir()
	if err != nil {
		return noop
	}
	endStale(base)
	dir := filepath.Join(base, testCgroupPrefix+strconv.Itoa(os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return noop
	}
	if err := enterCgroup(dir); err != nil {
		_ = os.Remove(dir)
		return noop
	}
	os.Setenv(isolatedEnv, dir)
	return func() {
		os.Unsetenv(isolatedEnv)
		if err := enterCgroup(base); err != nil {
			fmt.Fprintf(os.Stderr, "testutil: cannot leave the tests' cgroup %s: %v\n", dir, err)
			return
		}
		n, err := endCgroupTree(dir)
		if n > 0 {
			fmt.Fprintf(os.Stderr, "testutil: ended %d processes the tests left running in %s\n", n, dir)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "testutil: %v\n", err)
		}
	}
}

// testCgroupPrefix names the tests' cgroups, followed by the test
// process's pid. Not a run cgroup's name ("outrigger-<pid>-<ticks>-…"):
// no sweep takes it.
const testCgroupPrefix = "test-outrigger-"

// endStale removes the tests' cgroups in base whose test process is gone,
// ending what they still hold: a test binary killed from outside (a go
// test timeout, Ctrl-C) never runs its undo. A live process with that pid
// (a reused one included) keeps its directory: it costs nothing.
func endStale(base string) {
	entries, err := os.ReadDir(base)
	if err != nil {
		return
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(strings.TrimPrefix(e.Name(), testCgroupPrefix))
		if !e.IsDir() || !strings.HasPrefix(e.Name(), testCgroupPrefix) || err != nil || ProcessAlive(pid) {
			continue
		}
		dir := filepath.Join(base, e.Name())
		n, err := endCgroupTree(dir)
		if n > 0 {
			fmt.Fprintf(os.Stderr, "testutil: ended %d processes a killed test process (pid %d) left running in %s\n", n, pid, dir)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "testutil: %v\n", err)
		}
	}
}

// enterCgroup moves this process, every thread of it, into dir.
func enterCgroup(dir string) error {
	return os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(os.Getpid())), 0)
}

// endCgroupTree kills what runs in dir and below it (cgroup.kill takes
// the subtree) and removes the cgroups, deepest first. It returns how
// many processes were there.
func endCgroupTree(dir string) (int, error) {
	n := 0
	var dirs []string // parents before their children
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
			data, _ := os.ReadFile(filepath.Join(p, "cgroup.procs"))
			n += len(strings.Fields(string(data)))
		}
		return nil
	})
	if n > 0 {
		if err := os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0); err != nil {
			return n, fmt.Errorf("end the processes left in %s: %w", dir, err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for i := len(dirs) - 1; i >= 0; i-- {
		// rmdir fails (EBUSY) until the killed processes have left.
		for os.Remove(dirs[i]) != nil && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if _, err := os.Stat(dir); err == nil {
		return n, fmt.Errorf("the tests' cgroup %s could not be removed", dir)
	}
	return n, nil
}
