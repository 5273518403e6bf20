//go:build unix

package cli

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"outrigger/core/control"
	"outrigger/core/supervisor"
)

// `outrigger start a b c --wait --timeout T` asks the instance to wait up to
// T for each name in turn (?timeout=T on each request), so each request may
// take T and the client's margin: the later names must not get what the
// earlier ones left of one limit shared by all. Before, they shared one
// T+requestTimeout, and a name the instance would have answered in time
// failed with "context deadline exceeded".
func TestWaitLimitIsPerName(t *testing.T) {
	defer func(d time.Duration) { requestTimeout = d }(requestTimeout)
	requestTimeout = 500 * time.Millisecond
	const took = 800 * time.Millisecond // each within --timeout 1s, all three not within 1.5s
	addr, ln := instanceSocket(t)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/sidecars/{name}/start", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("timeout") != "1s" {
			t.Errorf("asked with timeout %q, want 1s", r.URL.Query().Get("timeout"))
		}
		time.Sleep(took) // the sidecar coming up
		res := control.ActionResult{Action: "start", Done: true,
			Sidecars: []supervisor.Status{{Name: r.PathValue("name"), State: supervisor.Ready}}}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(res)
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	var out, errb bytes.Buffer
	code := Run(Env{Addr: addr, Stdout: &out, Stderr: &errb}, []string{"start", "a", "b", "c", "--wait", "--timeout", "1s"})
	if code != ExitOK || strings.Count(out.String(), ": ready") != 3 {
		t.Errorf("start a b c --wait --timeout 1s, each Ready after %s: exit %d\nstdout:\n%sstderr:\n%s", took, code, out.String(), errb.String())
	}
}
