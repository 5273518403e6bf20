//go:build unix

package control

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"outrigger/core/config"
	"outrigger/core/diagnostics"
	"outrigger/core/supervisor"
	"outrigger/internal/testutil"
)

// GET /v1/diagnostics over the real socket: a zip whose status.json lists
// the running fixture sidecar, with its output, and no secret anywhere,
// though the sidecar has it in its env and prints it.
func TestDiagnosticsRoute(t *testing.T) {
	const secret = "tok-diag-route-5e7a"
	spec := fixtureSpec(t, "alpha", "-stderr-line", "connecting with API_TOKEN="+secret)
	spec.Env = map[string]string{"API_TOKEN": secret}
	r := newRig(t, rigOpts{start: true}, spec)

	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://localhost/v1/diagnostics", nil)
	began := time.Now()
	resp, err := r.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/zip" ||
		!strings.Contains(resp.Header.Get("Content-Disposition"), "outrigger-diagnostics-") {
		t.Fatalf("GET /v1/diagnostics: %d %v\n%.300s", resp.StatusCode, resp.Header, data)
	}
	t.Logf("report: %d bytes in %v", len(data), time.Since(began)) // a figure, not an assertion
	entries := testutil.Unzip(t, data)
	var sts []supervisor.Status
	if err := json.Unmarshal(entries[diagnostics.EntryStatus], &sts); err != nil {
		t.Fatalf("status.json: %v\n%s", err, entries[diagnostics.EntryStatus])
	}
	if len(sts) != 1 || sts[0].Name != "alpha" || sts[0].State != supervisor.Ready || sts[0].PID != r.status("alpha").PID {
		t.Errorf("status.json = %+v", sts)
	}
	if out := string(entries[diagnostics.SidecarLogEntry("alpha")]); !strings.Contains(out, "API_TOKEN="+config.Mask) {
		t.Errorf("alpha's output (from its ring) missing or not masked:\n%s", out)
	}
	for name, b := range entries {
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("%s holds the secret", name)
		}
	}
	if code, body := r.call("POST", "/v1/diagnostics", ""); code != 405 || !strings.Contains(string(body), CodeMethod) {
		t.Errorf("POST /v1/diagnostics: %d %s", code, body)
	}
}

// A client that asks for the report and stops reading is dropped once its
// write has been blocked for the stall bound: the handler ends, and the
// report it held goes with it, instead of waiting until the app quits.
func TestDiagnosticsDropsAStalledClient(t *testing.T) {
	var log testutil.Buffer
	// A report far bigger than the smallest socket buffers: an app log of
	// random hex, which compresses only to half.
	appLog := filepath.Join(t.TempDir(), "outrigger.log")
	var text bytes.Buffer
	for range 1000 {
		text.WriteString(rand.Text() + rand.Text() + rand.Text() + "\n")
	}
	if err := os.WriteFile(appLog, text.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	r := newRig(t, rigOpts{start: true, smallBuffers: true, writeStall: 300 * time.Millisecond, log: &log, appLog: appLog},
		fixtureSpec(t, "alpha"))

	c, err := net.Dial("unix", r.inst.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if uc, ok := c.(*net.UnixConn); ok {
		uc.SetReadBuffer(1)
	}
	fmt.Fprint(c, "GET /v1/diagnostics HTTP/1.1\r\nHost: localhost\r\n\r\n")
	// Not read until the server says it gave up.
	testutil.Eventually(t, wait, func() bool { return strings.Contains(log.String(), "diagnostics report was not delivered") },
		"the server never gave up on a client that does not read (log:\n%s)", &log)

	// What was sent before is there; then the connection ends short.
	c.SetReadDeadline(time.Now().Add(wait))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("the response's head: %v", err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("read %d of %d bytes, then %v: want the connection cut short", n, resp.ContentLength, err)
	}
	t.Logf("the stalled client got %d of %d bytes before it was dropped", n, resp.ContentLength)
}
