package wfapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"outrigger/internal/testutil"
	"outrigger/internal/workflow/wfapi"
	"outrigger/internal/workflow/wftest"
)

const token = "gw-test-token.7c1d"

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// noToken fails the test if err's text holds the token.
func noToken(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), token) {
		t.Errorf("the error shows the token: %v", err)
	}
}

// A workflow runs end to end through a TLS gateway that wants the token:
// catalogue, stream (every event, through the proxy), stored result,
// status and a JSON deploy, all under the gateway's /api prefix.
func TestThroughGateway(t *testing.T) {
	g := wftest.NewGateway(t, wftest.Engine(t), token)
	c := &wfapi.Client{BaseURL: g.URL, Token: token, HTTP: wfapi.NewHTTPClient(g.Pool)}
	ctx := ctxT(t)

	wfs, err := c.Workflows(ctx)
	if err != nil || len(wfs) == 0 {
		t.Fatalf("Workflows through the gateway = %v, %v", wfs, err)
	}
	var kinds []string
	var end *wfapi.EndEvent
	err = c.Stream(ctx, "pipeline", json.RawMessage(`{"text":"gw","delay_ms":0,"nodes":3}`), "gw_run_1", func(ev wfapi.StreamEvent) {
		kinds = append(kinds, ev.Type)
		if ev.End != nil {
			end = ev.End
		}
	})
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	if end == nil || end.Status != wfapi.StatusCompleted {
		t.Fatalf("end event %+v; events %v", end, kinds)
	}
	if n := strings.Count(strings.Join(kinds, " "), wfapi.EventData); n != 3 {
		t.Errorf("%d data events through the proxy, want 3: %v", n, kinds)
	}
	res, err := c.Result(ctx, "gw_run_1")
	if err != nil || res.Status != wfapi.StatusCompleted || len(res.Nodes) != 3 {
		t.Fatalf("Result = %+v, %v", res, err)
	}
	if _, err := c.Status(ctx); err != nil {
		t.Fatalf("Status: %v", err)
	}
	dep, err := c.Deploy(ctx, wfapi.RunRequest{WorkflowID: "pipeline", Input: json.RawMessage(`{"text":"d","delay_ms":0,"nodes":1}`), InteractionID: "gw_dep"})
	if err != nil || dep.Status != wfapi.StatusCompleted || dep.InteractionID != "deploy_gw_dep" {
		t.Fatalf("Deploy = %+v, %v", dep, err)
	}
	if g.Refused() != 0 || g.Accepted() < 5 {
		t.Errorf("gateway refused %d, accepted %d requests", g.Refused(), g.Accepted())
	}
}

// A wrong token, and no token, are told apart from other failures, on
// calls and on streams, and the message never shows the token.
func TestGatewayRefusesToken(t *testing.T) {
	g := wftest.NewGateway(t, wftest.Engine(t), token)
	ctx := ctxT(t)
	for _, tc := range []struct{ tok, want string }{
		{token + "x", "the gateway refused the token (401 Unauthorized: invalid or missing bearer token)"},
		{"", "the gateway refused the request: it wants a token and none is set (401 Unauthorized"},
	} {
		c := &wfapi.Client{BaseURL: g.URL, Token: tc.tok, HTTP: wfapi.NewHTTPClient(g.Pool)}
		_, err := c.Workflows(ctx)
		serr := c.Stream(ctx, "pipeline", nil, "", nil)
		for _, err := range []error{err, serr} {
			if !errors.Is(err, wfapi.ErrRefused) || err.Error() != tc.want && !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("token set %v: err = %v, want ErrRefused %q", tc.tok != "", err, tc.want)
			}
			var he *wfapi.HTTPError
			if !errors.As(err, &he) || he.StatusCode != http.StatusUnauthorized {
				t.Errorf("not an *HTTPError 401: %#v", err)
			}
			noToken(t, err)
		}
	}
	if g.Accepted() != 0 || g.Refused() != 4 {
		t.Errorf("gateway accepted %d, refused %d", g.Accepted(), g.Refused())
	}
}

// With the system's roots the test gateway's certificate is not trusted:
// nothing is run and the error says so. A trusted certificate for another
// name is not trusted either.
func TestGatewayUntrustedCertificate(t *testing.T) {
	g := wftest.NewGateway(t, wftest.Engine(t), token)
	ctx := ctxT(t)

	c := &wfapi.Client{BaseURL: g.URL, Token: token} // DefaultHTTP: the system's roots
	_, err := c.Workflows(ctx)
	serr := c.Stream(ctx, "pipeline", nil, "", nil)
	for _, err := range []error{err, serr} {
		if !errors.Is(err, wfapi.ErrUntrusted) || !strings.HasPrefix(err.Error(), "certificate not trusted: 127.0.0.1:") {
			t.Errorf("err = %v, want ErrUntrusted", err)
		}
		noToken(t, err)
	}

	// The certificate is for 127.0.0.1 and example.com, not "localhost".
	byName := &wfapi.Client{BaseURL: strings.Replace(g.URL, "127.0.0.1", "localhost", 1), Token: token, HTTP: wfapi.NewHTTPClient(g.Pool)}
	if _, err := byName.Workflows(ctx); !errors.Is(err, wfapi.ErrUntrusted) || !strings.Contains(err.Error(), "localhost") {
		t.Errorf("another host name: err = %v, want ErrUntrusted", err)
	}
	if g.Accepted() != 0 || g.Refused() != 0 {
		t.Errorf("a request got through: accepted %d, refused %d", g.Accepted(), g.Refused())
	}
}

// SSL_CERT_FILE makes the system's roots trust the gateway: the client
// without an injected pool (what the app uses) runs a workflow. Roots are
// read once per process, so a child process checks it.
func TestGatewayTrustedBySSLCertFile(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("SSL_CERT_FILE replaces the roots on Linux; other systems verify with their own store")
	}
	if url := os.Getenv("WFAPI_TEST_CHILD_URL"); url != "" {
		c := &wfapi.Client{BaseURL: url, Token: os.Getenv("WFAPI_TEST_CHILD_TOKEN")}
		err := c.Stream(ctxT(t), "pipeline", json.RawMessage(`{"text":"c","delay_ms":0,"nodes":1}`), "gw_child", nil)
		if err != nil {
			t.Fatalf("child: %v", err)
		}
		return
	}
	g := wftest.NewGateway(t, wftest.Engine(t), token)
	cmd := exec.CommandContext(ctxT(t), os.Args[0], "-test.run=^TestGatewayTrustedBySSLCertFile$", "-test.count=1")
	cmd.Env = append(os.Environ(), "SSL_CERT_FILE="+g.WriteCert(t, t.TempDir()), "SSL_CERT_DIR=",
		"WFAPI_TEST_CHILD_URL="+g.URL, "WFAPI_TEST_CHILD_TOKEN="+token)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child with SSL_CERT_FILE: %v\n%s", err, out)
	}
	if g.Accepted() == 0 {
		t.Fatalf("the child ran nothing through the gateway:\n%s", out)
	}
}

// A port nobody listens on is unreachable, said so.
func TestGatewayUnreachable(t *testing.T) {
	// Below the ephemeral range: no outgoing connection takes it meanwhile.
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(testutil.FreePort(t)))
	c := &wfapi.Client{BaseURL: "https://" + addr, Token: token}
	_, err := c.Workflows(ctxT(t))
	if !errors.Is(err, wfapi.ErrUnreachable) || !strings.HasPrefix(err.Error(), addr+" is unreachable") {
		t.Errorf("err = %v, want ErrUnreachable", err)
	}
	noToken(t, err)
}

// The token goes over plain http only to loopback; elsewhere nothing is
// sent. A redirect from https to http is not followed.
func TestTokenNotSentInClear(t *testing.T) {
	for url, want := range map[string]bool{
		"http://10.1.2.3:8000": true, "http://gw.example.com/api": true, "HTTP://gw.example.com": true,
		"http://127.0.0.1:8001": false, "http://[::1]:8001": false, "http://localhost:8001": false,
		"https://gw.example.com": false,
	} {
		if got := wfapi.Plaintext(url); got != want {
			t.Errorf("Plaintext(%q) = %v", url, got)
		}
	}
	// Nothing listens at 10.1.2.3 on a test machine: had the client dialled,
	// the error would be ErrUnreachable or a timeout, not ErrPlaintext.
	c := &wfapi.Client{BaseURL: "http://10.1.2.3:8000", Token: token}
	if _, err := c.Workflows(ctxT(t)); !errors.Is(err, wfapi.ErrPlaintext) {
		t.Errorf("token over http to 10.1.2.3: err = %v, want ErrPlaintext", err)
	}
	// Loopback over http: the engine itself, token sent and ignored.
	local := &wfapi.Client{BaseURL: wftest.Engine(t), Token: token}
	if _, err := local.Workflows(ctxT(t)); err != nil {
		t.Errorf("token over http to loopback: %v", err)
	}

	var leaked atomic.Int64
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { leaked.Add(1) }))
	defer plain.Close()
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer tlsSrv.Close()
	pool := tlsSrv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	red := &wfapi.Client{BaseURL: tlsSrv.URL, Token: token, HTTP: wfapi.NewHTTPClient(pool)}
	if _, err := red.Workflows(ctxT(t)); err == nil || !strings.Contains(err.Error(), "refusing a redirect from https") {
		t.Errorf("redirect to http: err = %v", err)
	}
	if leaked.Load() != 0 {
		t.Error("the client followed a redirect from https to http")
	}
}
