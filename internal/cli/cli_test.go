package cli

import (
	"bytes"
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"outrigger/core/control"
	"outrigger/core/modes"
	"outrigger/core/supervisor"
)

func TestFormats(t *testing.T) {
	for d, want := range map[time.Duration]string{
		5 * time.Second: "5s", 12*time.Minute + 3*time.Second: "12m03s", 3*time.Hour + 4*time.Minute: "3h04m", 51 * time.Hour: "2d03h",
	} {
		if got := Uptime(d); got != want {
			t.Errorf("Uptime(%v) = %q, want %q", d, got, want)
		}
	}
	for n, want := range map[uint64]string{0: "0", 812 << 10: "812K", 45 << 20: "45M", 1288490189: "1.2G"} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestEventLine(t *testing.T) {
	at := time.Date(2026, 1, 2, 12, 4, 5, 0, time.Local)
	st := supervisor.Status{Name: "emb", State: supervisor.Ready, PID: 42, Port: 8002}
	m := modes.StandaloneMode()
	for _, tc := range []struct {
		e    control.Event
		want string
	}{
		{control.Event{Type: "state", Time: at, Sidecar: "emb", Status: &st}, "12:04:05 emb: ready (pid 42, port 8002)"},
		{control.Event{Type: "restarting", Time: at, Sidecar: "emb", Status: &st, Reason: "crashed; restarting now (attempt 1)", Attempt: 1},
			"12:04:05 emb restarting: crashed; restarting now (attempt 1)"},
		{control.Event{Type: "modeChanged", Time: at, Mode: &m, Message: "standalone"}, "12:04:05 mode modeChanged: standalone"},
	} {
		if got := EventLine(tc.e); got != tc.want {
			t.Errorf("EventLine = %q, want %q", got, tc.want)
		}
	}
}

// Flags may follow the names, as people type them.
func TestParseInterleaved(t *testing.T) {
	fs := flag.NewFlagSet("restart", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	wait := fs.Bool("wait", false, "")
	names, code := parse(fs, []string{"a", "--wait", "b"})
	if code != -1 || !*wait || strings.Join(names, ",") != "a,b" {
		t.Fatalf("parse = %v %d wait %v", names, code, *wait)
	}
	if _, code := parse(fs, []string{"-h"}); code != ExitOK {
		t.Errorf("-h: %d", code)
	}
	if _, code := parse(fs, []string{"--bogus"}); code != ExitUsage {
		t.Errorf("--bogus: %d", code)
	}
}

// --wait is bare or names the state: "--wait ready" is not a sidecar
// called ready.
func TestWaitFlag(t *testing.T) {
	for _, tc := range []struct {
		args         []string
		names, state string
		on           bool
	}{
		{[]string{"a"}, "a", "", false},
		{[]string{"a", "--wait"}, "a", "", true},
		{[]string{"a", "--wait", "ready"}, "a", "ready", true},
		{[]string{"--wait", "stopped", "a", "b"}, "a,b", "stopped", true},
		{[]string{"a", "--wait=ready"}, "a", "ready", true},
		{[]string{"--wait", "a"}, "a", "", true},
		{[]string{"a", "--", "--wait", "ready"}, "a,--wait,ready", "", false},
	} {
		fs := flag.NewFlagSet("restart", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		w := &waitFlag{}
		fs.Var(w, "wait", "")
		names, code := parse(fs, joinWaitState(tc.args))
		if code != -1 || strings.Join(names, ",") != tc.names || w.on != tc.on || w.state != tc.state {
			t.Errorf("%q: names %q code %d wait %v %q, want %q %v %q", tc.args, names, code, w.on, w.state, tc.names, tc.on, tc.state)
		}
	}
	fs := flag.NewFlagSet("restart", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Var(&waitFlag{}, "wait", "")
	if _, code := parse(fs, []string{"a", "--wait=soon"}); code != ExitUsage {
		t.Errorf("--wait=soon: %d, want a usage error", code)
	}
}

func TestUsageErrors(t *testing.T) {
	var out, errb bytes.Buffer
	env := Env{Addr: "/nonexistent/outrigger.sock", Stdout: &out, Stderr: &errb}
	for _, args := range [][]string{{"frobnicate"}, {"start"}, {"start", "a", "--all"}, {"logs"}, {"logs", "-n", "-1", "x"},
		{"mode", "connected"}, {"mode", "standalone", "x"}, {"status", "x"}, {"diagnostics", "a.zip", "b.zip"}} {
		errb.Reset()
		if code := Run(env, args); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, code, ExitUsage, errb.String())
		}
	}
	if code := Run(env, []string{"status"}); code != ExitNotRunning || !strings.Contains(errb.String(), "outrigger --headless") {
		t.Errorf("status with nothing running: %d %s", code, errb.String())
	}
}

// A run whose CPU and memory the sweep has not measured yet shows "-" in
// both columns. Before, the first `outrigger status` after a start or a
// restart (or after the idle sweep's 30 s) said 0% and 0 bytes.
func TestTableUnmeasured(t *testing.T) {
	var out bytes.Buffer
	r := &runner{env: Env{Stdout: &out}}
	r.table([]supervisor.Status{
		{Name: "fresh", State: supervisor.Ready, PID: 42, Port: 8001},
		{Name: "measured", State: supervisor.Ready, PID: 43, Port: 8002, CPUPercent: 0, RSSBytes: 45 << 20},
	})
	rows := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	if len(rows) != 3 {
		t.Fatalf("table:\n%s", out.String())
	}
	if f := strings.Fields(rows[1]); f[6] != "-" || f[7] != "-" {
		t.Errorf("unmeasured run: CPU %q MEMORY %q, want - and -\n%s", f[6], f[7], out.String())
	}
	if f := strings.Fields(rows[2]); f[6] != "0%" || f[7] != "45M" {
		t.Errorf("measured idle run: CPU %q MEMORY %q, want 0%% and 45M\n%s", f[6], f[7], out.String())
	}
}
