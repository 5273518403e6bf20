//go:build unix

package control

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"outrigger/core/config"
	"outrigger/internal/testutil"
)

func tcpCall(t *testing.T, method, url string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestTCPListener(t *testing.T) {
	r := newRig(t, rigOpts{}, fixtureSpec(t, "alpha"))
	cfgFile := r.home + "/outrigger.toml"
	api := config.API{Listen: "127.0.0.1:0", AllowedOrigins: []string{"http://localhost:5173"}}
	addr, err := r.srv.ListenTCP(api, cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + addr.String()
	path, token, err := Token(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 || len(token) != 64 {
		t.Fatalf("token file %s: %v %v, token %d chars", path, fi.Mode(), err, len(token))
	}
	if _, again, _ := Token(cfgFile); again != token {
		t.Fatal("the token changed between two reads")
	}

	resp, body := tcpCall(t, "GET", base+"/v1/sidecars")
	if resp.StatusCode != 401 || !strings.Contains(body, CodeUnauthorized) || resp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("no token: %d %s", resp.StatusCode, body)
	}
	if resp, _ = tcpCall(t, "GET", base+"/v1/sidecars", "Authorization", "Bearer "+strings.Repeat("0", 64)); resp.StatusCode != 401 {
		t.Errorf("wrong token: %d", resp.StatusCode)
	}
	auth := "Bearer " + token
	if resp, body = tcpCall(t, "GET", base+"/v1/sidecars", "Authorization", auth); resp.StatusCode != 200 || !strings.Contains(body, `"alpha"`) {
		t.Errorf("with the token: %d %s", resp.StatusCode, body)
	}
	if resp, _ = tcpCall(t, "GET", base+"/v1/version?access_token="+token); resp.StatusCode != 200 {
		t.Errorf("token in the query of a GET (EventSource): %d", resp.StatusCode)
	}
	// A listed origin gets CORS headers, also on its preflight (which
	// carries no token); any other origin is refused without them.
	resp, _ = tcpCall(t, "GET", base+"/v1/sidecars", "Authorization", auth, "Origin", "http://localhost:5173")
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "http://localhost:5173" {
		t.Errorf("listed origin: %d, ACAO %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
	resp, _ = tcpCall(t, "OPTIONS", base+"/v1/sidecars/alpha/restart", "Origin", "http://localhost:5173", "Access-Control-Request-Method", "POST")
	if resp.StatusCode != 204 || !strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
	resp, body = tcpCall(t, "GET", base+"/v1/sidecars", "Authorization", auth, "Origin", "http://evil.example")
	if resp.StatusCode != 403 || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("wrong origin: %d, ACAO %q %s", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"), body)
	}
	resp, _ = tcpCall(t, "OPTIONS", base+"/v1/sidecars", "Origin", "http://evil.example", "Access-Control-Request-Method", "POST")
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("wrong origin's preflight got CORS headers: %v", resp.Header)
	}
	// DNS rebinding: a page's own host name in Host.
	req, _ := http.NewRequest("GET", base+"/v1/sidecars", nil)
	req.Host = "attacker.rebind.example:" + strconv.Itoa(testutil.FreePort(t))
	req.Header.Set("Authorization", auth)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 403 {
		t.Errorf("forged Host: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
}

func TestTCPListenerRefusesRemote(t *testing.T) {
	r := newRig(t, rigOpts{}, fixtureSpec(t, "alpha"))
	for _, listen := range []string{"0.0.0.0:0", "192.0.2.1:7777", "[::]:0", "example.com:7777"} {
		_, err := r.srv.ListenTCP(config.API{Listen: listen}, r.home+"/outrigger.toml")
		if err == nil || !strings.Contains(err.Error(), "not a loopback address") || !strings.Contains(err.Error(), "allow_remote = true") {
			t.Errorf("listen %s: %v, want a refusal naming allow_remote", listen, err)
		}
	}
	if err := CheckListen(config.API{Listen: "0.0.0.0:7777", AllowRemote: true}); err != nil {
		t.Errorf("allow_remote = true: %v", err)
	}
	for _, ok := range []string{"127.0.0.1:7777", "localhost:7777", "[::1]:7777"} {
		if err := CheckListen(config.API{Listen: ok}); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}

// With allow_remote and listen on all interfaces, a client on another
// machine names this one by whichever address it reaches: that passes the
// Host check (and still needs the token); a DNS name still does not.
// Before, the only Host accepted beyond loopback was "0.0.0.0", so every
// remote request got 403.
func TestRemoteListenerOnAllInterfaces(t *testing.T) {
	r := newRig(t, rigOpts{}, fixtureSpec(t, "alpha"))
	cfgFile := r.home + "/outrigger.toml"
	addr, err := r.srv.ListenTCP(config.API{Listen: "0.0.0.0:0", AllowRemote: true}, cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	_, token, err := Token(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(addr.(*net.TCPAddr).Port)
	call := func(host string, auth bool) int {
		req, err := http.NewRequest("GET", "http://127.0.0.1:"+port+"/v1/sidecars", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host // as a client on the LAN would send it
		if auth {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := call("192.168.1.5:"+port, true); got != 200 {
		t.Errorf("Host 192.168.1.5 (a LAN address of this machine) with the token: %d, want 200", got)
	}
	if got := call("192.168.1.5:"+port, false); got != 401 {
		t.Errorf("Host 192.168.1.5 without the token: %d, want 401", got)
	}
	if got := call("attacker.example:"+port, true); got != 403 {
		t.Errorf("Host attacker.example: %d, want 403", got)
	}
}

// The TCP listener holds at most maxTCPConns connections: any local user
// can connect to it, and each one was a file descriptor of the app (the
// sidecars' pipes and log files need them too) for as long as the client
// liked. One past the bound is answered 503 and closed; a freed slot serves
// again. A client without the token is not kept: before, its connection
// stayed open after the 401 for IdleTimeout (2 minutes).
func TestTCPConnectionsBounded(t *testing.T) {
	r := newRig(t, rigOpts{}, fixtureSpec(t, "alpha"))
	cfgFile := r.home + "/outrigger.toml"
	addr, err := r.srv.ListenTCP(config.API{Listen: "127.0.0.1:0"}, cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	_, token, err := Token(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	dial := func() net.Conn {
		c, err := net.Dial("tcp", addr.String())
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(wait))
		return c
	}

	// Without the token: 401, then the server closes the connection.
	c := dial()
	fmt.Fprint(c, "GET /v1/version HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("no token: %d", resp.StatusCode)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("after the 401: %v, want the server to close the connection (EOF)", err)
	}
	c.Close()

	// maxTCPConns event streams, each accepted and answering.
	streams := make([]net.Conn, maxTCPConns)
	for i := range streams {
		streams[i] = dial()
		defer streams[i].Close()
		fmt.Fprintf(streams[i], "GET /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n\r\n", token)
		resp, err := http.ReadResponse(bufio.NewReader(streams[i]), nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("stream %d: %v %v", i, resp, err)
		}
	}
	// One more: 503, closed.
	over := dial()
	defer over.Close()
	resp, err = http.ReadResponse(bufio.NewReader(over), nil)
	if err != nil {
		t.Fatalf("connection %d: %v, want a 503 answer", maxTCPConns+1, err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 503 || !strings.Contains(string(body), CodeUnavailable) || !strings.Contains(string(body), "too many connections") {
		t.Fatalf("connection %d: %d %s, want 503 too many connections", maxTCPConns+1, resp.StatusCode, body)
	}
	// A stream that ends frees its slot.
	streams[0].Close()
	client := &http.Client{}
	defer client.CloseIdleConnections()
	testutil.Eventually(t, wait, func() bool {
		req, _ := http.NewRequest("GET", "http://"+addr.String()+"/v1/version", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}, "a request served once a stream ended")
}
