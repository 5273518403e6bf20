package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"outrigger/internal/testutil"
)

// serve runs newServer(cfg) on a real 127.0.0.1 listener.
func serve(t *testing.T, cfg config) (string, *testutil.Buffer) {
	t.Helper()
	logs := &testutil.Buffer{}
	srv := newServer(cfg, log.New(logs, "", 0))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return "http://" + ln.Addr().String(), logs
}

func testConfig(t *testing.T, env map[string]string) config {
	t.Helper()
	cfg, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// A web page cannot drive the service: a forged Origin, a rebinding Host and
// a text/plain POST are refused over real HTTP; the listed extras pass.
func TestBrowserCannotDrive(t *testing.T) {
	base, _ := serve(t, testConfig(t, map[string]string{
		"ALLOWED_HOSTS": "embed.lan", "ALLOWED_ORIGINS": "http://localhost:5173"}))
	body := `{"input":"a"}`
	for _, c := range []struct {
		name, method, host, origin, ctype string
		want                              int
	}{
		{"forged origin", "POST", "", "http://evil.example", "application/json", 403},
		{"null origin", "POST", "", "null", "application/json", 403},
		{"rebinding host", "GET", "attacker.rebind.example", "", "", 403},
		{"rebinding host with port", "POST", "attacker.rebind.example:8002", "", "application/json", 403},
		{"text/plain post", "POST", "", "", "text/plain", 415},
		{"form post", "POST", "", "", "application/x-www-form-urlencoded", 415},
		{"plain client", "POST", "", "", "application/json", 200},
		{"localhost", "POST", "localhost:8002", "", "application/json", 200},
		{"listed host", "POST", "embed.lan", "", "application/json", 200},
		{"listed origin", "POST", "", "http://localhost:5173", "application/json", 200},
	} {
		t.Run(c.name, func(t *testing.T) {
			var rd io.Reader
			if c.method == "POST" {
				rd = strings.NewReader(body)
			}
			path := "/embed"
			if c.method == "GET" {
				path = "/health"
			}
			req, _ := http.NewRequest(c.method, base+path, rd)
			if c.host != "" {
				req.Host = c.host
			}
			if c.origin != "" {
				req.Header.Set("Origin", c.origin)
			}
			if c.ctype != "" {
				req.Header.Set("Content-Type", c.ctype)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.want {
				t.Fatalf("%d %s, want %d", resp.StatusCode, b, c.want)
			}
		})
	}
}

// A client that sends its headers and part of a body, then nothing, is
// dropped after READ_TIMEOUT instead of being held.
func TestSlowBodyDropped(t *testing.T) {
	base, _ := serve(t, testConfig(t, map[string]string{"READ_TIMEOUT": "200ms"}))
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /embed HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"input\":")
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, err = io.ReadAll(conn) // returns when the server closes the connection
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the server still held a half-sent request after 20s")
	}
}

// rcvbufDialer makes connections with a small receive buffer, so that a
// client that does not read makes the server's writes block soon.
var rcvbufDialer = &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) { serr = setRcvbuf(fd, 4096) })
	if err != nil {
		return err
	}
	return serr
}}

// stall opens a connection that sends n requests (pipelined) and never
// reads a reply.
func stall(t *testing.T, addr string, body string, n int) net.Conn {
	t.Helper()
	conn, err := rcvbufDialer.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	var b bytes.Buffer
	for range n {
		fmt.Fprintf(&b, "POST /embed HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	}
	if _, err := conn.Write(b.Bytes()); err != nil {
		t.Fatal(err)
	}
	return conn
}

// maxRequest asks for exactly maxValues numbers (about 3 MB of JSON).
var maxRequest = `{"input":[` + strings.Repeat(`"a",`, maxValues/512-1) + `"a"],"dim":512}`

// A client that never reads its reply is dropped after WRITE_TIMEOUT.
func TestNonReadingClientDropped(t *testing.T) {
	base, logs := serve(t, testConfig(t, map[string]string{"WRITE_TIMEOUT": "300ms"}))
	stall(t, strings.TrimPrefix(base, "http://"), maxRequest, 4) // 12 MB of replies: more than the socket buffers take
	testutil.Eventually(t, 20*time.Second, func() bool { return strings.Contains(logs.String(), "not delivered") },
		"the server to give up on the non-reading client:\n%s", logs)
}

var listenRE = regexp.MustCompile(`listening on http://(\S+)`)

// The real binary under hostile /embed traffic: eight 10 KB requests for
// 2 048 × 4 096 numbers (a 106 MB reply each before the limit) and sixteen
// connections that ask for the largest reply four times and never read.
// Its peak RSS stays bounded, and the stalled clients are dropped.
func TestHostileEmbedMemory(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := testutil.BuildBinary(t, "outrigger/cmd/xgen-embedding", "xgen-embedding")
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "APP_HOST=127.0.0.1", "APP_PORT=0", "WRITE_TIMEOUT=1s")
	out := &testutil.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan struct{})
	go func() { cmd.Wait(); close(waited) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-waited })
	var addr string
	testutil.Eventually(t, 20*time.Second, func() bool {
		m := listenRE.FindStringSubmatch(out.String())
		if m != nil {
			addr = m[1]
		}
		return m != nil
	}, "the binary to listen:\n%s", out)

	huge := `{"input":[` + strings.Repeat(`"a",`, maxInputs-1) + `"a"],"dim":4096}`
	var wg sync.WaitGroup
	codes := make(chan int, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(context.Background(), "POST", "http://"+addr+"/embed", strings.NewReader(huge))
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	for range 16 {
		stall(t, addr, maxRequest, 4)
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != http.StatusRequestEntityTooLarge {
			t.Errorf("2048 × 4096: status %d, want 413", c)
		}
	}
	testutil.Eventually(t, 60*time.Second, func() bool { return strings.Count(out.String(), "not delivered") >= 16 },
		"the 16 stalled clients to be dropped:\n%s", out)
	peak := testutil.PeakRSS(t, cmd.Process.Pid)
	t.Logf("xgen-embedding peak RSS %d MB under hostile /embed traffic", peak>>20)
	const bound = 150 << 20
	if peak > bound {
		t.Fatalf("peak RSS %d MB, bound %d MB", peak>>20, bound>>20)
	}
}
