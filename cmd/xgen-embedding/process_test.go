package main

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"outrigger/internal/testutil"
)

func TestMain(m *testing.M) { testutil.RunMain(m) }

// TestBinaryColdStart runs the real binary the way the supervisor does:
// APP_PORT in the environment, a slow model load, readiness by polling.
func TestBinaryColdStart(t *testing.T) {
	bin := testutil.BuildBinary(t, "outrigger/cmd/xgen-embedding", "xgen-embedding")
	port := testutil.FreePort(t)
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "APP_HOST=127.0.0.1", "APP_PORT="+strconv.Itoa(port), "MODEL_LOAD_SECONDS=0.3")
	var out, errOut testutil.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})

	client := &http.Client{Timeout: 2 * time.Second}
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	var health struct{ Status string }
	testutil.Eventually(t, 20*time.Second, func() bool {
		resp, err := client.Get(base + "/health")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		return resp.StatusCode == 200 && json.NewDecoder(resp.Body).Decode(&health) == nil
	}, "xgen-embedding healthy on port %d; stdout:\n%s\nstderr:\n%s", port, &out, &errOut)
	if d := time.Since(begin); d < 300*time.Millisecond {
		t.Errorf("healthy after %v, before MODEL_LOAD_SECONDS=0.3", d)
	}
	if health.Status != "ok" {
		t.Errorf("health status %q", health.Status)
	}

	resp, err := client.Post(base+"/embed", "application/json", strings.NewReader(`{"input":"hello world"}`))
	if err != nil {
		t.Fatal(err)
	}
	var r embedResponse
	err = json.NewDecoder(resp.Body).Decode(&r)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || len(r.Data) != 1 || r.Data[0].Embedding[0] != Embed("hello world", 384)[0] {
		t.Fatalf("POST /embed = %d, %v", resp.StatusCode, err)
	}

	// The request line is logged after the response is sent and reaches
	// us through a pipe, so it is awaited rather than expected at once.
	for _, want := range []string{"loading model", "model loaded", "listening on", "GET /health 200", "POST /embed 200"} {
		testutil.Eventually(t, 10*time.Second, func() bool { return strings.Contains(out.String(), want) },
			"stdout contains %q:\n%s", want, &out)
	}

	if runtime.GOOS == "windows" {
		return // no SIGTERM there; Cleanup kills it
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		done <- err // for Cleanup
		if err != nil {
			t.Errorf("exit after SIGTERM: %v; stderr:\n%s", err, errOut.String())
		}
		if !strings.Contains(out.String(), "stopped") {
			t.Errorf("no graceful-shutdown log:\n%s", out.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("did not exit within 20s of SIGTERM")
	}
}
