//go:build unix

package supervisor

import (
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"outrigger/core/proc"
	"outrigger/internal/testutil"
)

// foreign starts the fixture outside the supervisor, in its own process
// group, as a leftover of an earlier run (or an unrelated program) would
// be. It is reaped at once, as init would reap a real leftover, and killed
// at the end of the test if still there.
type foreign struct {
	cmd    *exec.Cmd
	ct     int64
	reaped chan struct{}
}

func startForeign(t *testing.T, port int, args ...string) *foreign {
	t.Helper()
	listens := port != 0 && !strings.Contains(strings.Join(args, " "), "-no-listen")
	// A bind can lose to another test binary's supervisor probing the same
	// number for a moment (choosePort tries ports near its own by binding
	// them): the fixture then exits at once, saying so, and is started
	// again. Any other end, or no bind at all, fails the test with its
	// output.
	for try := 1; ; try++ {
		var stderr testutil.Buffer
		cmd := exec.Command(testutil.BuildFixture(t), args...)
		cmd.Env = append(os.Environ(), "APP_PORT="+strconv.Itoa(port))
		cmd.Stderr = &stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		f := &foreign{cmd: cmd, reaped: make(chan struct{})}
		go func() { _ = cmd.Wait(); close(f.reaped) }()
		t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); <-f.reaped })
		ct, err := proc.CreateTime(cmd.Process.Pid)
		if err != nil {
			t.Fatal(err)
		}
		f.ct = ct
		if !listens {
			return f
		}
		testutil.Eventually(t, wait, func() bool { return f.gone() || !portFree("127.0.0.1", port) }, "the foreign process to bind %d", port)
		if !f.gone() {
			return f
		}
		if !strings.Contains(stderr.String(), "bind:") || try == 5 {
			t.Fatalf("the foreign process (try %d) ended before it bound %d: %v\n%s", try, port, cmd.ProcessState, &stderr)
		}
		t.Logf("the foreign process lost port %d for a moment (%s); again", port, strings.TrimSpace(stderr.String()))
	}
}

func (f *foreign) pid() int { return f.cmd.Process.Pid }

func (f *foreign) gone() bool {
	select {
	case <-f.reaped:
		return true
	default:
		return false
	}
}

// recordAs writes a state-file record for name saying that pid (with
// createTime) is our process from an earlier run on port.
func recordAs(t *testing.T, h *harness, name string, pid int, createTime int64, port int) {
	t.Helper()
	if err := h.sup.state.Put(proc.Record{Name: name, PID: pid, PGID: pid, CreateTime: createTime, Port: port}); err != nil {
		t.Fatal(err)
	}
}

// A leftover that ignores SIGTERM is killed after the grace period, and the
// sidecar gets its own port back.
func TestPreflightKillsLeftoverIgnoringSigterm(t *testing.T) {
	spec := fixtureSpec(t, "left")
	h := newHarness(t, Options{}, spec)
	f := startForeign(t, spec.Port, "-ignore-sigterm")
	recordAs(t, h, "left", f.pid(), f.ct, spec.Port)
	h.start("left")
	st := h.ready("left")
	if st.Port != spec.Port || !strings.Contains(st.Reason, "ended leftover pid "+strconv.Itoa(f.pid())) {
		t.Fatalf("port %d reason %q: want our own port %d back after ending the leftover", st.Port, st.Reason, spec.Port)
	}
	testutil.Eventually(t, wait, f.gone, "the leftover pid %d to end", f.pid())
}

// Ending the leftover does not free the port when someone else holds it:
// the sidecar moves to another port instead of failing to bind, and the
// holder is left alone.
func TestPreflightPortStillBusyAfterEndingLeftover(t *testing.T) {
	spec := fixtureSpec(t, "left")
	h := newHarness(t, Options{}, spec)
	holder, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(spec.Port))
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	f := startForeign(t, 0, "-no-listen") // ours, but not what holds the port
	recordAs(t, h, "left", f.pid(), f.ct, spec.Port)
	h.start("left")
	st := h.ready("left")
	want := "port " + strconv.Itoa(spec.Port) + " busy, using " + strconv.Itoa(st.Port)
	if st.Port == spec.Port || st.Reason != want {
		t.Fatalf("port %d reason %q, want %q", st.Port, st.Reason, want)
	}
	testutil.Eventually(t, wait, f.gone, "the identified leftover to be ended")
	if portFree("127.0.0.1", spec.Port) {
		t.Fatal("the port holder lost its port")
	}
}

// A pid in the state file that now belongs to another process — or whose
// identity was never established (create time 0) — is never signalled,
// even when that process holds the port: the sidecar moves instead.
func TestPreflightNeverSignalsAReusedPid(t *testing.T) {
	for _, tc := range []struct {
		name string
		ct   func(real int64) int64
	}{
		{"another create time", func(real int64) int64 { return real - 60_000 }},
		{"create time unknown", func(int64) int64 { return 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := fixtureSpec(t, "left")
			h := newHarness(t, Options{}, spec)
			f := startForeign(t, spec.Port) // an unrelated program that got the pid
			recordAs(t, h, "left", f.pid(), tc.ct(f.ct), spec.Port)
			h.start("left")
			st := h.ready("left")
			if st.Port == spec.Port || !strings.Contains(st.Reason, "busy, using") {
				t.Fatalf("port %d reason %q: want another port", st.Port, st.Reason)
			}
			if f.gone() || !testutil.ProcessAlive(f.pid()) {
				t.Fatalf("pid %d, whose identity did not match, was ended", f.pid())
			}
			var ids struct{ PID int }
			getJSON(t, "http://127.0.0.1:"+strconv.Itoa(spec.Port)+"/pid", &ids)
			if ids.PID != f.pid() {
				t.Fatalf("the port is served by pid %d, want the untouched %d", ids.PID, f.pid())
			}
		})
	}
}
