//go:build unix

package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"outrigger/core/control"
)

// instanceSocket listens where a test instance's endpoint would be: a
// short path (a Unix socket's is limited to about 100 bytes, too little for
// t.TempDir under a long TMPDIR).
func instanceSocket(t *testing.T) (addr string, ln net.Listener) {
	t.Helper()
	dir, err := os.MkdirTemp("", "rd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	addr = filepath.Join(dir, "s")
	if ln, err = net.Listen("unix", addr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return addr, ln
}

// hungInstance is an endpoint that accepts connections and reads the
// requests but never answers: a running instance whose API is stuck.
func hungInstance(t *testing.T) string {
	addr, ln := instanceSocket(t)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
			go io.Copy(io.Discard, c)
		}
	}()
	return addr
}

// Every one-shot command gives up on an instance that takes the
// connection but never answers, after requestTimeout, with exit 1 and a
// message that says so. Before, `logs NAME` waited until Ctrl-C, `start
// NAME` (no --wait) waited 60 s more than that for a wait it had not asked
// for, and all of them printed a raw "context deadline exceeded".
func TestCommandsGiveUpOnHungInstance(t *testing.T) {
	defer func(d time.Duration) { requestTimeout = d }(requestTimeout)
	requestTimeout = time.Second
	addr := hungInstance(t)
	for _, args := range [][]string{
		{"status"},
		{"logs", "alpha"},
		{"start", "alpha"},
		{"stop", "--all"},
		{"restart", "--all"},
		{"show"},
		{"mode"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			done := make(chan int, 1)
			go func() { done <- Run(Env{Addr: addr, Stdout: &out, Stderr: &errb}, args) }()
			select {
			case code := <-done:
				if code != ExitFailed || !strings.Contains(errb.String(), "did not answer in time (is it hung?)") {
					t.Errorf("exit %d, stderr %q; want %d and \"did not answer in time (is it hung?)\"", code, errb.String(), ExitFailed)
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("still waiting 30 s after asking a hung instance (it should give up after %s)", requestTimeout)
			}
		})
	}
}

// `outrigger quit` against an instance that takes the connection but never
// answers gives up after requestTimeout, with a message and exit 1. Before,
// it waited for the event stream's answer without limit.
func TestQuitGivesUpOnHungInstance(t *testing.T) {
	defer func(d time.Duration) { requestTimeout = d }(requestTimeout)
	requestTimeout = time.Second
	addr := hungInstance(t)
	var out, errb bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- Run(Env{Addr: addr, Stdout: &out, Stderr: &errb}, []string{"quit"}) }()
	select {
	case code := <-done:
		if code != ExitFailed || !strings.Contains(errb.String(), "did not answer within 1s") {
			t.Errorf("quit against a hung instance: exit %d, stderr %q; want %d and \"did not answer within 1s\"", code, errb.String(), ExitFailed)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("outrigger quit still waiting 30 s after asking a hung instance (it should give up after %s)", requestTimeout)
	}
}

// `logs -f NAME` whose stream the instance ends (it quit) says so on
// stderr, as `events` does, and exits 0; without -f the end of the lines
// is the end of the answer and nothing is said. Before, -f ended silently,
// as if it had been interrupted.
func TestLogsFollowSaysTheInstanceQuit(t *testing.T) {
	addr, ln := instanceSocket(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/sidecars/{name}/logs", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		_ = json.NewEncoder(w).Encode(control.LogLine{Seq: 1, Stream: "stdout", Text: "last words"})
		// The instance quits: the response ends.
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	for _, c := range []struct {
		args []string
		said bool
	}{
		{[]string{"logs", "-f", "alpha"}, true},
		{[]string{"logs", "alpha"}, false},
	} {
		var out, errb bytes.Buffer
		code := Run(Env{Addr: addr, Stdout: &out, Stderr: &errb}, c.args)
		said := strings.Contains(errb.String(), "the instance ended the stream (it quit)")
		if code != ExitOK || out.String() != "last words\n" || said != c.said {
			t.Errorf("%v when the instance ends the stream: exit %d, stdout %q, stderr %q; want exit 0, the line, and a message saying it quit: %v",
				c.args, code, out.String(), errb.String(), c.said)
		}
	}
}
