package proc_test

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"outrigger/core/proc"
	"outrigger/internal/testutil"
)

// strangersGroup starts a process group that is not ours: a leader that
// starts a child in its group, then dies (reaped), leaving the child, which
// is younger than the leader. It returns the group id (the dead leader's
// pid), the leader's create time and the child's pid.
func strangersGroup(t *testing.T) (pgid int, leaderCT int64, child int) {
	t.Helper()
	c := startFixture(t, nil, "-no-listen", "-fork-grandchild")
	c.waitOutput(t, "running without listening") // the child's handlers are in place
	sc := bufio.NewScanner(strings.NewReader(c.output()))
	for sc.Scan() {
		if _, err := fmt.Sscanf(sc.Text(), "fixture: parent %d started grandchild %d", new(int), &child); err == nil {
			break
		}
	}
	if child == 0 {
		t.Fatalf("no grandchild in %q", c.output())
	}
	leaderCT = createTime(t, c.pid())
	_ = syscall.Kill(c.pid(), syscall.SIGKILL)
	c.waitExit(t)
	if !proc.GroupAlive(c.pid()) {
		t.Fatal("the group died with its leader")
	}
	return c.pid(), leaderCT, child
}

// TestReusedGroupIsNotOurs: a recorded run whose leader is gone, and whose
// group id now names a group of a later process (the pid was reused, by a
// shell job's leader say, which has died too), is not ended through that
// group. Before, every member being younger than our leader counted as
// proof: a reused group's always are, so the sweep at launch (and the
// guardian) SIGTERMed, then SIGKILLed, a stranger's processes. With the
// run's token recorded, the group counts only if a member carries it.
func TestReusedGroupIsNotOurs(t *testing.T) {
	pgid, ct, child := strangersGroup(t)
	// Our run had that pid a minute before the stranger got it.
	ours := "ours" + strconv.FormatInt(time.Now().UnixNano(), 16)
	rec := proc.Record{Name: "x", PID: pgid, PGID: pgid, CreateTime: ct - 60000, Token: ours}

	t.Run("sweep", func(t *testing.T) {
		ended, err := proc.EndLeftover(rec, 100*time.Millisecond)
		if ended || err != nil {
			t.Fatalf("EndLeftover of a reused group: ended %v, err %v", ended, err)
		}
	})
	t.Run("guardian", func(t *testing.T) {
		proc.EndTrees(map[int]*proc.Watched{pgid: proc.NewWatched(pgid, ct-60000, ours, nil)}, 100*time.Millisecond)
	})
	if !testutil.ProcessAlive(child) {
		t.Fatalf("the stranger's process %d was ended", child)
	}
}

// TestGoneLeadersGroupIsOurs: the same shape with the group's members
// carrying the run's token is ours, and is ended (a PyInstaller server
// whose bootloader died with the app).
func TestGoneLeadersGroupIsOurs(t *testing.T) {
	tok := "ours" + strconv.FormatInt(time.Now().UnixNano(), 16)
	c := startFixture(t, []string{proc.TreeEnv + "=" + tok}, "-no-listen", "-fork-grandchild", "-ignore-sigterm")
	c.waitOutput(t, "running without listening")
	ct := createTime(t, c.pid())
	_ = syscall.Kill(c.pid(), syscall.SIGKILL)
	c.waitExit(t)
	ended, err := proc.EndLeftover(proc.Record{Name: "x", PID: c.pid(), PGID: c.pid(), CreateTime: ct, Token: tok}, 100*time.Millisecond)
	if !ended || err != nil {
		t.Fatalf("EndLeftover: ended %v, err %v", ended, err)
	}
	testutil.Eventually(t, wait, func() bool { return !proc.GroupAlive(c.pid()) }, "the group to end")
}
