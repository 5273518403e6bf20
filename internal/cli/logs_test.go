//go:build unix

package cli

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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

// `outrigger logs NAME` (no -f) is a one-shot request like status: an
// instance that does not answer must not hang it for ever (client.do's
// rule; status gives up after requestTimeout). Before, it waited until
// Ctrl-C, and a script calling it hung.
func TestLogsGivesUpOnHungInstance(t *testing.T) {
	defer func(d time.Duration) { requestTimeout = d }(requestTimeout)
	requestTimeout = time.Second
	addr := hungInstance(t)
	var out, errb bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- Run(Env{Addr: addr, Stdout: &out, Stderr: &errb}, []string{"logs", "alpha"}) }()
	select {
	case code := <-done:
		if code == ExitOK {
			t.Errorf("logs against a hung instance: exit 0")
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("outrigger logs still waiting 30 s after asking a hung instance (status gives up after %s)", requestTimeout)
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
