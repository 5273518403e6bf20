//go:build unix

package supervisor

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"outrigger/core/config"
	"outrigger/core/logs"
	"outrigger/core/proc"
	"outrigger/internal/testutil"
)

func TestStartReadyStop(t *testing.T) {
	spec := fixtureSpec(t, "alpha")
	spec.Env = map[string]string{"POSTGRES_HOST": "db.local", "API_TOKEN": "s3cret"}
	h := newHarness(t, Options{}, spec)
	h.start("alpha")
	st := h.ready("alpha")
	if st.PID == 0 || st.Port != spec.Port || st.URL != "http://127.0.0.1:"+strconv.Itoa(spec.Port) || !st.HealthOK {
		t.Fatalf("ready status = %+v", st)
	}
	var env map[string]string
	getJSON(t, st.URL+"/env", &env)
	for k, want := range map[string]string{"APP_HOST": "127.0.0.1", "APP_PORT": strconv.Itoa(spec.Port),
		"PYTHONUNBUFFERED": "1", "POSTGRES_HOST": "db.local", "API_TOKEN": "s3cret"} {
		if env[k] != want {
			t.Errorf("child env %s = %q, want %q", k, env[k], want)
		}
	}
	if rec, ok := h.sup.state.Get("alpha"); !ok || rec.PID != st.PID || rec.CreateTime == 0 {
		t.Errorf("state file record = %+v, %v", rec, ok)
	}
	if err := h.sup.Start(context.Background(), "alpha"); err == nil || !strings.Contains(err.Error(), "already") {
		t.Errorf("second Start: err = %v, want 'already ...'", err)
	}
	h.stop("alpha")
	st, _ = h.sup.Status("alpha")
	if st.State != Stopped || st.PID != 0 {
		t.Fatalf("after Stop: %+v", st)
	}
	if _, ok := h.sup.state.Get("alpha"); ok {
		t.Error("state file still lists alpha after Stop")
	}
	// Events reach subscribers asynchronously: wait for the last one.
	h.waitEvent("stopped event", func(e Event) bool {
		return e.Sidecar == "alpha" && e.Status.State == Stopped && e.Status.LastExit != nil
	})
	// The bus merges state events for a subscriber that falls behind, so
	// what it promises is the order of the states it delivers and the last
	// one, not every step.
	got := states(h.events("alpha"))
	life := []State{Stopped, Starting, Ready, Stopping, Stopped}
	if !inOrder(got, life) || len(got) == 0 || got[len(got)-1] != Stopped {
		t.Errorf("states = %v, want states of %v in that order, ending in stopped", got, life)
	}
	// The status JSON is camelCase.
	b, _ := json.Marshal(st)
	for _, k := range []string{`"healthOk"`, `"lastExit"`, `"cpuPercent"`, `"rssBytes"`, `"startedAt"`, `"lastError"`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("status JSON %s lacks %s", b, k)
		}
	}
}

func TestSlowStartBecomesReady(t *testing.T) {
	h := newHarness(t, Options{}, fixtureSpec(t, "slow", "-start-delay", "700ms"))
	// Measured from before the start: StartedAt is taken after the spawn,
	// which a loaded machine can delay by a good part of the 700 ms.
	before := time.Now()
	h.start("slow")
	st := h.ready("slow")
	if d := st.ReadyAt.Sub(before); d < 700*time.Millisecond {
		t.Fatalf("ready after %v, before the fixture could bind", d)
	}
}

func TestStartupTimeoutFails(t *testing.T) {
	spec := fixtureSpec(t, "sick", "-unhealthy")
	spec.StartupTimeout = 800 * time.Millisecond
	h := newHarness(t, Options{}, spec)
	h.start("sick")
	pid := h.waitState("sick", Starting).PID
	st := h.waitState("sick", Failed)
	if !strings.Contains(st.LastError, "startup_timeout") {
		t.Fatalf("lastError = %q, want it to name startup_timeout", st.LastError)
	}
	testutil.Eventually(t, wait, func() bool { return !testutil.ProcessAlive(pid) }, "timed-out process to be gone")
	err := h.sup.WaitReady(context.Background(), "sick")
	if err == nil || !strings.Contains(err.Error(), "failed") {
		t.Fatalf("WaitReady = %v, want failed", err)
	}
}

func TestCrashWithoutPolicyIsExited(t *testing.T) {
	h := newHarness(t, Options{}, fixtureSpec(t, "crashy", "-crash-after", "300ms", "-exit-code", "7"))
	h.start("crashy")
	st := h.waitState("crashy", Exited)
	if st.LastExit == nil || st.LastExit.Code != 7 || st.LastExit.Signal != "" {
		t.Fatalf("lastExit = %+v, want exit code 7", st.LastExit)
	}
	if !strings.Contains(st.Reason, "exit code 7") {
		t.Errorf("reason = %q", st.Reason)
	}
}

func TestIgnoreSigtermIsKilledAfterStopTimeout(t *testing.T) {
	spec := fixtureSpec(t, "stubborn", "-ignore-sigterm")
	spec.StopTimeout = 500 * time.Millisecond
	h := newHarness(t, Options{}, spec)
	h.start("stubborn")
	pid := h.ready("stubborn").PID
	h.stop("stubborn")
	st, _ := h.sup.Status("stubborn")
	if st.State != Stopped || st.LastExit == nil || st.LastExit.Signal != syscall.SIGKILL.String() {
		t.Fatalf("after Stop: state %s lastExit %+v, want stopped by SIGKILL", st.State, st.LastExit)
	}
	if testutil.ProcessAlive(pid) {
		t.Fatal("process survived")
	}
}

func TestGrandchildTreeIsStopped(t *testing.T) {
	h := newHarness(t, Options{}, fixtureSpec(t, "onefile", "-fork-grandchild"))
	h.start("onefile")
	st := h.ready("onefile")
	var ids struct{ PID, PPID int }
	getJSON(t, st.URL+"/pid", &ids)
	if ids.PID == st.PID || ids.PPID != st.PID {
		t.Fatalf("serving pid %d (parent %d), supervised pid %d: fixture is not two processes", ids.PID, ids.PPID, st.PID)
	}
	h.track(ids.PID)
	h.stop("onefile")
	if testutil.ProcessAlive(ids.PID) || testutil.ProcessAlive(st.PID) {
		t.Fatalf("after Stop: parent alive %v, serving grandchild alive %v",
			testutil.ProcessAlive(st.PID), testutil.ProcessAlive(ids.PID))
	}
	if portFree("127.0.0.1", st.Port) == false {
		t.Fatal("port still held after Stop")
	}
}

func TestBusyPortMovesToAnother(t *testing.T) {
	spec := fixtureSpec(t, "busy")
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(spec.Port))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	h := newHarness(t, Options{}, spec)
	h.start("busy")
	st := h.ready("busy")
	if st.Port == spec.Port {
		t.Fatalf("ready on the busy port %d", st.Port)
	}
	want := "port " + strconv.Itoa(spec.Port) + " busy, using " + strconv.Itoa(st.Port)
	if st.Reason != want {
		t.Errorf("reason = %q, want %q", st.Reason, want)
	}
	var env map[string]string
	getJSON(t, st.URL+"/env", &env)
	if env["APP_PORT"] != strconv.Itoa(st.Port) {
		t.Errorf("APP_PORT = %s, want %d", env["APP_PORT"], st.Port)
	}
}

func TestMissingBinaryFailsListingFolders(t *testing.T) {
	spec := fixtureSpec(t, "ghost")
	dirA, dirB := t.TempDir(), t.TempDir()
	h := newHarness(t, Options{BinDirs: []string{dirA, dirB}}, spec)
	err := h.sup.Start(context.Background(), "ghost")
	var nf *NotFoundError
	if !errors.As(err, &nf) {
		t.Fatalf("Start = %v, want NotFoundError", err)
	}
	st, _ := h.sup.Status("ghost")
	if st.State != Failed {
		t.Fatalf("state = %s, want failed", st.State)
	}
	for _, d := range []string{dirA, dirB} {
		if !strings.Contains(st.LastError, d) {
			t.Errorf("lastError %q does not name folder %s", st.LastError, d)
		}
	}
	if !strings.Contains(st.LastError, "ghost-"+proc.HostTriple()) {
		t.Errorf("lastError %q does not name the triple file", st.LastError)
	}
}

func TestOutputCapture(t *testing.T) {
	spec := fixtureSpec(t, "chatty", "-invalid-utf8", "-long-line", "1048576", "-stderr-line", "warning: on stderr")
	h := newHarness(t, Options{}, spec)
	h.start("chatty")
	h.ready("chatty")
	ring := h.sup.Logs("chatty")
	testutil.Eventually(t, wait, func() bool {
		var bad, errLine bool
		var long []string
		for _, l := range ring.Lines() {
			switch {
			case strings.HasPrefix(l.Text, "bad utf8: "):
				bad = strings.Contains(l.Text, `\xff\xfe\x80`)
			case strings.HasPrefix(l.Text, "xxxx"):
				long = append(long, l.Text)
			case l.Text == "warning: on stderr":
				errLine = l.Stream.String() == "stderr"
			}
		}
		// The 1 MiB line is one line in the ring, cut to MaxRingLine.
		return bad && errLine && len(long) == 1 && long[0] == strings.Repeat("x", logs.MaxRingLine)+logs.TruncatedMark
	}, "escaped invalid UTF-8, the stderr line and the 1 MiB line (cut) in the ring")
	h.stop("chatty")
	data, err := os.ReadFile(h.sup.Snapshot()[0].LogFile)
	if err != nil || !strings.Contains(string(data), "warning: on stderr") {
		t.Fatalf("log file: err %v, has stderr line: %v", err, strings.Contains(string(data), "warning: on stderr"))
	}
	// The file has it whole, on one line (the file writer batches for up
	// to a quarter second).
	testutil.Eventually(t, wait, func() bool {
		data, err := os.ReadFile(h.sup.Snapshot()[0].LogFile)
		return err == nil && strings.Contains(string(data), " stdout "+strings.Repeat("x", 1<<20)+"\n")
	}, "the 1 MiB line whole in the log file")
}

func TestLogFloodDoesNotSlowSupervisor(t *testing.T) {
	flood := fixtureSpec(t, "flood", "-flood-bytes", strconv.Itoa(16<<20))
	calm := fixtureSpec(t, "calm")
	h := newHarness(t, Options{RingSize: 1000}, flood, calm)
	h.start("flood")
	h.start("calm")
	h.ready("calm")
	h.stop("calm") // commands are answered while the flood runs
	h.ready("flood")
	testutil.Eventually(t, wait, func() bool {
		for _, l := range h.sup.Logs("flood").Lines() {
			if l.Text == "flood done" {
				return true
			}
		}
		return false
	}, "the whole flood to pass through")
	if n := h.sup.Logs("flood").Len(); n > 1000 {
		t.Fatalf("ring holds %d lines, cap 1000", n)
	}
}

func TestDependencyOrderAndReverseStop(t *testing.T) {
	db := fixtureSpec(t, "db", "-start-delay", "300ms")
	app := fixtureSpec(t, "app")
	app.DependsOn = []string{"db"}
	h := newHarness(t, Options{}, app, db)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := h.sup.StartGroup(ctx, []string{"app"}); err != nil {
		t.Fatalf("StartGroup: %v", err)
	}
	// The statuses, not the events: the bus may merge a subscriber's
	// Starting into the Ready that follows.
	dbSt, _ := h.sup.Status("db")
	appSt, _ := h.sup.Status("app")
	if appSt.StartedAt.Before(*dbSt.ReadyAt) {
		t.Fatalf("app started at %v before db was ready at %v", appSt.StartedAt, dbSt.ReadyAt)
	}
	if err := h.sup.StopAll(ctx); err != nil {
		t.Fatalf("StopAll: %v", err)
	}
	// db is asked to stop only once app is gone, so it ends after it.
	dbSt, _ = h.sup.Status("db")
	appSt, _ = h.sup.Status("app")
	if dbSt.LastExit.At.Before(appSt.LastExit.At) {
		t.Fatalf("db ended at %v, before the app that depends on it (%v)", dbSt.LastExit.At, appSt.LastExit.At)
	}
}

func TestStopAllStubbornInParallel(t *testing.T) {
	a := fixtureSpec(t, "s1", "-ignore-sigterm")
	b := fixtureSpec(t, "s2", "-ignore-sigterm")
	c := fixtureSpec(t, "s3", "-ignore-sigterm")
	a.StopTimeout, b.StopTimeout, c.StopTimeout = time.Second, time.Second, time.Second
	h := newHarness(t, Options{}, a, b, c)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := h.sup.StartGroup(ctx, []string{"s1", "s2", "s3"}); err != nil {
		t.Fatal(err)
	}
	if err := h.sup.StopAll(ctx); err != nil {
		t.Fatal(err)
	}
	// In parallel, every sidecar enters Stopping before any has stopped: N
	// stubborn sidecars cost one grace period, not N.
	var lastStopping, firstStopped time.Time
	for _, n := range []string{"s1", "s2", "s3"} {
		h.waitEvent(n+" stopped", func(e Event) bool { return e.Sidecar == n && e.Status.State == Stopped && e.Status.LastExit != nil })
		for _, e := range h.events(n) {
			if e.Status.State == Stopping && e.Time.After(lastStopping) {
				lastStopping = e.Time
			}
			if e.Status.State == Stopped && e.Status.LastExit != nil && (firstStopped.IsZero() || e.Time.Before(firstStopped)) {
				firstStopped = e.Time
			}
		}
	}
	if !lastStopping.Before(firstStopped) {
		t.Fatalf("stops were sequential: last Stopping %v, first Stopped %v", lastStopping, firstStopped)
	}
}

func TestLeftoverFromEarlierRunIsEndedOnPreflight(t *testing.T) {
	spec := fixtureSpec(t, "left")
	// A "leftover": the fixture started by someone else on the sidecar's
	// port, recorded in the state file as ours.
	h := newHarness(t, Options{}, spec)
	f := startForeign(t, spec.Port)
	recordAs(t, h, "left", f.pid(), f.ct, spec.Port)
	h.start("left")
	st := h.ready("left")
	if st.Port != spec.Port || !strings.Contains(st.Reason, "leftover") {
		t.Fatalf("port %d reason %q: want our own port back after ending the leftover", st.Port, st.Reason)
	}
	testutil.Eventually(t, wait, f.gone, "the leftover pid %d to end", f.pid())
}

func TestBindFailureIsAFailedStart(t *testing.T) {
	// The port is free at preflight; someone takes it before the sidecar
	// binds. The sidecar binds only once the gate file exists, so the
	// order holds however slow the machine (a 500 ms start delay lost the
	// race once in 20 runs beside a CPU burner).
	gate := filepath.Join(t.TempDir(), "bind")
	spec := fixtureSpec(t, "late", "-bind-after-file", gate)
	h := newHarness(t, Options{}, spec)
	h.start("late")
	h.waitState("late", Starting) // past preflight, the process runs
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(spec.Port))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := os.WriteFile(gate, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	st := h.waitState("late", Exited)
	if st.LastExit == nil || st.LastExit.Code != 3 || !strings.Contains(st.Reason, "failed during startup (never ready): exit code 3") {
		t.Fatalf("after a bind failure: lastExit %+v, reason %q", st.LastExit, st.Reason)
	}
	testutil.Eventually(t, wait, func() bool {
		for _, l := range h.sup.Logs("late").Lines() {
			if strings.HasPrefix(l.Text, "fixture: bind:") && l.Stream.String() == "stderr" {
				return true
			}
		}
		return false
	}, "the bind error on stderr in the ring")
}

func TestSequentialStartIsOneByOne(t *testing.T) {
	a := fixtureSpec(t, "first", "-start-delay", "300ms")
	b := fixtureSpec(t, "second")
	// sequential_start: one by one.
	h := newHarness(t, Options{Config: config.Config{SequentialStart: true}}, a, b)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := h.sup.StartAll(ctx); err != nil {
		t.Fatal(err)
	}
	first, _ := h.sup.Status("first")
	second, _ := h.sup.Status("second")
	if second.StartedAt.Before(*first.ReadyAt) {
		t.Fatal("sequential start began the second sidecar before the first was ready")
	}
}
