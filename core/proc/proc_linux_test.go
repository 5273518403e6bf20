package proc_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"outrigger/core/proc"
	"outrigger/internal/testutil"
)

func TestMain(m *testing.M) {
	proc.RunGuardianIfRequested()
	printCreateTimeIfAsked()
	testutil.RunMain(m)
}

const wait = 30 * time.Second

// child is a fixture process started by the test, in its own group, with
// stdout in a file; Wait runs in the background (we are its parent).
type child struct {
	cmd    *exec.Cmd
	stdout string
	done   chan struct{}
	state  *os.ProcessState
}

func startFixture(t *testing.T, env []string, args ...string) *child {
	t.Helper()
	bin := testutil.BuildFixture(t)
	c := &child{stdout: filepath.Join(t.TempDir(), "stdout"), done: make(chan struct{})}
	out, err := os.Create(c.stdout)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	c.cmd = exec.Command(bin, args...)
	c.cmd.Env = append(append(os.Environ(), "APP_PORT="+strconv.Itoa(testutil.FreePort(t))), env...)
	c.cmd.Stdout, c.cmd.Stderr = out, out
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = c.cmd.Wait()
		c.state = c.cmd.ProcessState
		close(c.done)
	}()
	t.Cleanup(func() {
		_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
		<-c.done
	})
	return c
}

// startIdle starts a fixture that does not listen and waits until its
// signal handlers are in place.
func startIdle(t *testing.T, args ...string) *child {
	t.Helper()
	c := startFixture(t, nil, append([]string{"-no-listen"}, args...)...)
	c.waitOutput(t, "running without listening")
	return c
}

func (c *child) pid() int { return c.cmd.Process.Pid }

func (c *child) output() string {
	b, _ := os.ReadFile(c.stdout)
	return string(b)
}

func (c *child) waitOutput(t *testing.T, s string) {
	t.Helper()
	testutil.Eventually(t, wait, func() bool { return strings.Contains(c.output(), s) }, "%q in the fixture's output", s)
}

func (c *child) waitExit(t *testing.T) {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(wait):
		t.Fatalf("pid %d still running", c.pid())
	}
}

func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

func createTime(t *testing.T, pid int) int64 {
	t.Helper()
	ct, err := proc.CreateTime(pid)
	if err != nil {
		t.Fatal(err)
	}
	return ct
}

func TestGuardianLineProtocol(t *testing.T) {
	self := os.Getpid()
	in := strings.Join([]string{
		"+ 100 100 1234 tokA",
		"d 100 200 555",
		"d 100 200 556", // the pid now names a later process: replaced
		"d 100 201 0",   // no start time: ignored
		"+ 300 300 99 -",
		"- 300",
		"garbage",
		"+ x y z",
		"+ 1 1 1 -",                            // init's group: never
		"d 999 5 5",                            // a tree we were never told of
		"+ 400 400 7",                          // no token field (an older writer)
		fmt.Sprintf("+ %d %d 0 -", self, self), // create time not read yet: the guardian reads it
		"+ 500 500 0 -",                        // and when it cannot, the identity stays unknown
		"+ 100 100 0 tokA",                     // a repeated watch does not forget what it knew
		"d 100 202 77",
		"- 100 trailing",
		"+ 100 100 1234 tokB",
		"d 100 203", // half a line at the supervisor's death
	}, "\n")
	trees := proc.ReadWatch(strings.NewReader(in))
	if len(trees) != 4 {
		t.Fatalf("trees %v, want 100, 400, %d, 500", trees, self)
	}
	pid, ct, tok, members := trees[100].Fields()
	if pid != 100 || ct != 1234 || tok != "tokB" || len(members) != 0 {
		t.Errorf("tree 100 after forget and re-watch: pid %d ct %d token %q members %v", pid, ct, tok, members)
	}
	if _, ct, tok, _ := trees[400].Fields(); ct != 7 || tok != "" {
		t.Errorf("tree 400: ct %d token %q", ct, tok)
	}
	if _, ct, _, _ := trees[self].Fields(); ct != createTime(t, self) {
		t.Errorf("tree %d: ct %d, want our own create time read by the guardian", self, ct)
	}
	if _, ct, _, _ := trees[500].Fields(); ct != 0 && proc.Check(500, ct) != proc.Alive {
		t.Errorf("tree 500: ct %d for a pid that may not exist", ct)
	}

	// Descendants accumulate per pid, the latest start time winning.
	trees = proc.ReadWatch(strings.NewReader("+ 100 100 1234 tokA\nd 100 200 555\nd 100 200 556\nd 100 201 0\nd 100 202 9\n"))
	_, _, tok, members = trees[100].Fields()
	if tok != "tokA" || len(members) != 2 || members[200] != 556 || members[202] != 9 {
		t.Errorf("members %v token %q", members, tok)
	}
}

// TestGuardianEscalatesAndSkipsStrangers: a tree that ignores SIGTERM and
// SIGPIPE is ended by SIGKILL after the grace; a pid now used by another
// process, or one whose identity was never established, is not touched.
func TestGuardianEscalatesAndSkipsStrangers(t *testing.T) {
	stubborn := startIdle(t, "-ignore-sigterm", "-ignore-sigpipe")
	reused := startIdle(t)
	unknown := startIdle(t)
	trees := map[int]*proc.Watched{
		stubborn.pid(): proc.NewWatched(stubborn.pid(), createTime(t, stubborn.pid()), "", nil),
		// Recorded with another create time: the pid was reused since.
		reused.pid(): proc.NewWatched(reused.pid(), createTime(t, reused.pid())-5000, "", nil),
		// The create time could not be read when it was recorded.
		unknown.pid(): proc.NewWatched(unknown.pid(), 0, "", nil),
	}
	began := time.Now()
	proc.EndTrees(trees, 300*time.Millisecond)
	stubborn.waitExit(t) // the SIGTERM-ignoring tree must not survive the guardian
	if !strings.Contains(stubborn.output(), "fixture: ignoring terminated") {
		t.Errorf("no SIGTERM before the SIGKILL: output %q", stubborn.output())
	}
	if ws, ok := stubborn.state.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Errorf("stubborn tree ended by %v, want SIGKILL", stubborn.state)
	}
	if d := time.Since(began); d < 300*time.Millisecond {
		t.Errorf("SIGKILL after %v, before the grace was over", d)
	}
	if reused.exited() || unknown.exited() {
		t.Fatalf("a stranger was signalled: reused exited %v, unknown exited %v", reused.exited(), unknown.exited())
	}
	if out := reused.output() + unknown.output(); strings.Contains(out, "shutting down") {
		t.Fatalf("a stranger got SIGTERM: %q", out)
	}
}

// TestGuardianEndsDaemons: a daemon that left the group is ended through
// its token, or through the member line the app sent (pid + start).
func TestGuardianEndsDaemons(t *testing.T) {
	for _, how := range []string{"token", "member"} {
		t.Run(how, func(t *testing.T) {
			tok := "test" + strconv.FormatInt(time.Now().UnixNano(), 16)
			var env []string
			if how == "token" {
				env = append(env, proc.TreeEnv+"="+tok)
			}
			leader := startFixture(t, env, "-daemonize")
			leader.waitOutput(t, "daemonized")
			daemon := daemonOf(t, leader)
			t.Cleanup(func() { _ = syscall.Kill(daemon, syscall.SIGKILL) })
			w := proc.NewWatched(leader.pid(), createTime(t, leader.pid()), "", nil)
			if how == "token" {
				w = proc.NewWatched(leader.pid(), createTime(t, leader.pid()), tok, nil)
			} else {
				w = proc.NewWatched(leader.pid(), createTime(t, leader.pid()), "", map[int]uint64{daemon: proc.StartTicks(daemon)})
			}
			proc.EndTrees(map[int]*proc.Watched{leader.pid(): w}, 2*time.Second)
			testutil.Eventually(t, wait, func() bool { return !testutil.ProcessAlive(daemon) }, "daemon %d to end", daemon)
		})
	}
}

// daemonOf reads the daemon's pid from the middle process's line.
func daemonOf(t *testing.T, c *child) int {
	t.Helper()
	var pid int
	testutil.Eventually(t, wait, func() bool {
		sc := bufio.NewScanner(strings.NewReader(c.output()))
		for sc.Scan() {
			if _, err := fmt.Sscanf(sc.Text(), "fixture: middle %d started daemon %d", new(int), &pid); err == nil {
				return true
			}
		}
		return false
	}, "the daemon's pid in the output")
	return pid
}

// TestContainmentTellsTheGuardianEveryMemberOutsideTheGroup drives one
// pass of the app-side tracker and reads the lines it sends.
func TestContainmentTellsTheGuardianEveryMemberOutsideTheGroup(t *testing.T) {
	tok := "pass" + strconv.FormatInt(time.Now().UnixNano(), 16)
	bin := testutil.BuildFixture(t)
	cmd := exec.Command(bin, "-daemonize")
	cmd.Env = append(os.Environ(), "APP_PORT="+strconv.Itoa(testutil.FreePort(t)), proc.TreeEnv+"="+tok)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); _ = cmd.Wait() })
	daemon := 0
	sc := bufio.NewScanner(out)
	for daemon == 0 && sc.Scan() {
		fmt.Sscanf(sc.Text(), "fixture: middle %d started daemon %d", new(int), &daemon)
	}
	if daemon == 0 {
		t.Fatal("no daemon")
	}
	t.Cleanup(func() { _ = syscall.Kill(daemon, syscall.SIGKILL) })
	tree, err := proc.Attach(cmd)
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	proc.ContainmentPass(w, tree)
	w.Close()
	lines, _ := readAll(r)
	want := fmt.Sprintf("d %d %d %d", tree.PGID, daemon, proc.StartTicks(daemon))
	if !strings.Contains(lines, want) {
		t.Fatalf("containment told %q, want a line %q", lines, want)
	}
}

func readAll(f *os.File) (string, error) {
	var b strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		b.WriteString(sc.Text() + "\n")
	}
	return b.String(), sc.Err()
}

func TestEndLeftover(t *testing.T) {
	t.Run("sigkill after the grace", func(t *testing.T) {
		c := startIdle(t, "-ignore-sigterm", "-ignore-sigpipe")
		rec := proc.Record{Name: "stubborn", PID: c.pid(), PGID: c.pid(), CreateTime: createTime(t, c.pid())}
		ended, err := proc.EndLeftover(rec, 300*time.Millisecond)
		if !ended || err != nil {
			t.Fatalf("EndLeftover: %v %v", ended, err)
		}
		c.waitExit(t)
		if ws := c.state.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("ended by %v, want SIGKILL", c.state)
		}
		if !strings.Contains(c.output(), "fixture: ignoring terminated") {
			t.Errorf("no SIGTERM first: %q", c.output())
		}
	})
	t.Run("sigterm is enough", func(t *testing.T) {
		c := startIdle(t)
		ended, err := proc.EndLeftover(proc.Record{Name: "polite", PID: c.pid(), PGID: c.pid(), CreateTime: createTime(t, c.pid())}, wait)
		if !ended || err != nil {
			t.Fatalf("EndLeftover: %v %v", ended, err)
		}
		c.waitExit(t)
		if c.state.ExitCode() != 0 {
			t.Fatalf("ended by %v, want its own exit on SIGTERM", c.state)
		}
	})
	t.Run("identity unknown is not touched", func(t *testing.T) {
		c := startIdle(t)
		ended, err := proc.EndLeftover(proc.Record{Name: "unknown", PID: c.pid(), PGID: c.pid()}, 100*time.Millisecond)
		if ended || err == nil || !strings.Contains(err.Error(), "identity unknown") {
			t.Fatalf("EndLeftover of a record without create time: ended %v, err %v", ended, err)
		}
		if c.exited() {
			t.Fatal("it was signalled")
		}
	})
	t.Run("reused pid is not touched", func(t *testing.T) {
		c := startIdle(t)
		ended, err := proc.EndLeftover(proc.Record{Name: "reused", PID: c.pid(), PGID: c.pid(), CreateTime: createTime(t, c.pid()) - 60000}, 100*time.Millisecond)
		if ended || err != nil || c.exited() {
			t.Fatalf("ended %v err %v exited %v", ended, err, c.exited())
		}
	})
	t.Run("daemon found by token", func(t *testing.T) {
		tok := "left" + strconv.FormatInt(time.Now().UnixNano(), 16)
		c := startFixture(t, []string{proc.TreeEnv + "=" + tok}, "-daemonize")
		c.waitOutput(t, "daemonized")
		daemon := daemonOf(t, c)
		t.Cleanup(func() { _ = syscall.Kill(daemon, syscall.SIGKILL) })
		rec := proc.Record{Name: "d", PID: c.pid(), PGID: c.pid(), CreateTime: createTime(t, c.pid()), Token: tok}
		// The leader is gone (the app was killed, the leader with it).
		_ = syscall.Kill(c.pid(), syscall.SIGKILL)
		<-c.done
		ended, err := proc.EndLeftover(rec, wait)
		if !ended || err != nil {
			t.Fatalf("EndLeftover: %v %v", ended, err)
		}
		testutil.Eventually(t, wait, func() bool { return !testutil.ProcessAlive(daemon) }, "daemon %d to end", daemon)
	})
}

func TestCheckIdentity(t *testing.T) {
	c := startIdle(t)
	ct := createTime(t, c.pid())
	for _, tc := range []struct {
		ct   int64
		want proc.Liveness
	}{{ct, proc.Alive}, {ct - 1000, proc.Replaced}, {0, proc.Unknown}} {
		if got := proc.Check(c.pid(), tc.ct); got != tc.want {
			t.Errorf("Check(pid, %d) = %v, want %v", tc.ct, got, tc.want)
		}
	}
	_ = syscall.Kill(c.pid(), syscall.SIGKILL)
	<-c.done
	if got := proc.Check(c.pid(), ct); got != proc.Gone {
		t.Errorf("Check of a reaped pid = %v, want gone", got)
	}
}

func TestStateFileRecords(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sidecars.json")
	sf, err := proc.OpenStateFile(path)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	a := proc.Record{Name: "a", PID: 10, PGID: 10, CreateTime: 111, Port: 8000, StartedAt: at, Token: "ta"}
	b := proc.Record{Name: "b", PID: 20, PGID: 20, CreateTime: 222, Port: 8001, StartedAt: at}
	for _, r := range []proc.Record{b, a, {Name: "a", PID: 11, PGID: 11, CreateTime: 112, StartedAt: at, Token: "ta2"}} {
		if err := sf.Put(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := sf.Delete("b"); err != nil {
		t.Fatal(err)
	}
	if err := sf.Delete("never"); err != nil {
		t.Fatal(err)
	}
	re, err := proc.OpenStateFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got := re.All()
	if len(got) != 1 || got[0].PID != 11 || got[0].Token != "ta2" || !got[0].StartedAt.Equal(at) {
		t.Fatalf("reopened: %+v", got)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("files left beside the state file: %v", ents)
	}
}

func TestCorruptStateFile(t *testing.T) {
	for _, tc := range []struct {
		name, data, wantErr string
		keep                int
		movedAside          bool
	}{
		{"truncated", "[\n  {\"name\": \"a\", \"pid\": 5", "line 2", 0, true},
		{"not a list", `{"name": "a"}`, "cannot unmarshal", 0, true},
		{"bad record", `[{"name":"a","pid":55,"pgid":55,"createTime":1},{"name":"","pid":3,"pgid":3},{"name":"c","pid":0,"pgid":3}]`, `record 2 (""): no name`, 1, false},
		{"empty", "", "unexpected end", 0, true},
		// What a power cut can leave of a file renamed in without fsync
		// (the state file is written so: see StateFile.saveLocked).
		{"zeros", "\x00\x00\x00\x00", "invalid character", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "sidecars.json")
			if err := os.WriteFile(path, []byte(tc.data), 0o600); err != nil {
				t.Fatal(err)
			}
			sf, err := proc.OpenStateFile(path)
			if sf == nil || err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), path) {
				t.Fatalf("OpenStateFile: %v, want an error naming %s and %q", err, path, tc.wantErr)
			}
			if n := len(sf.All()); n != tc.keep {
				t.Errorf("%d records kept, want %d", n, tc.keep)
			}
			matches, _ := filepath.Glob(path + ".corrupt-*")
			if tc.movedAside != (len(matches) == 1) {
				t.Errorf("moved aside: %v, want %v", matches, tc.movedAside)
			}
			if tc.movedAside {
				if data, _ := os.ReadFile(matches[0]); string(data) != tc.data {
					t.Errorf("the corrupt file was not kept as it was")
				}
			}
			// The file is usable again at once.
			if err := sf.Put(proc.Record{Name: "new", PID: 2, PGID: 2, CreateTime: 1}); err != nil {
				t.Fatal(err)
			}
			if _, err := proc.OpenStateFile(path); err != nil && !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("after a save: %v", err)
			}
		})
	}
}
