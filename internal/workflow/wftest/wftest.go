// Package wftest runs the real workflow engine for tests, directly and
// behind a TLS gateway that wants a bearer token: the shape of an XGEN
// deployment reached in Connected mode (an ingress in front of the
// service, serving its API under a path). Test code only: it links the
// engine and its SQLite driver.
package wftest

import (
	"context"
	"crypto/subtle"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"outrigger/internal/workflow"
)

// Engine runs the workflow service in-process on 127.0.0.1 (plain http),
// its SQLite database in a temp dir, and returns its URL. Cleanup shuts it
// down.
func Engine(t testing.TB) string {
	t.Helper()
	return EngineWith(t, nil)
}

// EngineWith is Engine with the service's handler wrapped by wrap (nil:
// none), for tests that watch the requests the engine gets.
func EngineWith(t testing.TB, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	svc, err := workflow.Open(context.Background(), workflow.Options{
		DataDir:       t.TempDir(),
		MaxWorkers:    4,
		ShutdownGrace: 2 * time.Second,
		Logger:        slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatalf("workflow.Open: %v", err)
	}
	h := svc.Handler()
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := svc.Shutdown(ctx); err != nil {
			t.Errorf("workflow Shutdown: %v", err)
		}
	})
	return srv.URL
}

// Prefix is the path the gateway serves the engine's API under.
const Prefix = "/api"

// Gateway is a TLS reverse proxy in front of an engine. Requests under
// Prefix without "Authorization: Bearer <Token>" get 401 (but /health);
// the rest go to the engine with Prefix stripped and the Authorization
// header removed.
type Gateway struct {
	URL     string // https://127.0.0.1:port/api: the base URL a client uses
	Token   string
	Pool    *x509.CertPool // trusts the gateway's self-signed certificate
	CertPEM []byte

	srv     *httptest.Server
	refused atomic.Int64
	seen    atomic.Int64 // requests that carried the right token
}

// NewGateway starts a gateway for engineURL wanting token. Cleanup closes
// it (before the engine's, as Cleanup runs last-in first-out).
func NewGateway(t testing.TB, engineURL, token string) *Gateway {
	t.Helper()
	target, err := url.Parse(engineURL)
	if err != nil {
		t.Fatal(err)
	}
	g := &Gateway{Token: token}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.URL.Path = strings.TrimPrefix(r.In.URL.Path, Prefix)
			r.Out.URL.RawPath = ""
			r.Out.Header.Del("Authorization")
		},
		FlushInterval: -1, // SSE: every event at once
		// Its own connections: http.DefaultTransport is shared with every
		// other server and client of the test process.
		Transport: http.DefaultTransport.(*http.Transport).Clone(),
	}
	t.Cleanup(proxy.Transport.(*http.Transport).CloseIdleConnections)
	forward := func(w http.ResponseWriter, r *http.Request) {
		// Full duplex, or a stream can be cut at random (golang/go#40747):
		// the transport sends the request body to the engine and then reads
		// it once more to check it is not longer than declared. If the
		// engine has answered meanwhile and the proxy has flushed that
		// answer's first bytes, an HTTP/1 server has already drained and
		// closed the request body, so that read fails and the transport
		// tears down its connection to the engine mid-stream. Seen as
		// "unexpected EOF" in about one whole-repo -race run in ten.
		if err := http.NewResponseController(w).EnableFullDuplex(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if testHookForward != nil {
			w, r = testHookForward(w, r)
		}
		proxy.ServeHTTP(w, r)
	}
	want := []byte("Bearer " + token)
	g.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, Prefix+"/") {
			http.NotFound(w, r)
			return
		}
		// Health stays open, as behind most ingresses: the mode controller's
		// reachability check sends no token.
		if r.URL.Path == Prefix+"/health" {
			forward(w, r)
			return
		}
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			g.refused.Add(1)
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error":"invalid or missing bearer token"}`))
			return
		}
		g.seen.Add(1)
		forward(w, r)
	}))
	// Handshakes refused by untrusting clients are what some tests want.
	g.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	g.srv.StartTLS()
	t.Cleanup(g.srv.Close)
	g.URL = g.srv.URL + Prefix
	g.Pool = x509.NewCertPool()
	g.Pool.AddCert(g.srv.Certificate())
	g.CertPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: g.srv.Certificate().Raw})
	return g
}

// testHookForward, when set, wraps what the gateway forwards: this
// package's test uses it to make the late body read above happen every
// time rather than under load.
var testHookForward func(http.ResponseWriter, *http.Request) (http.ResponseWriter, *http.Request)

// Refused and Accepted count the requests turned away for their token and
// the ones let through.
func (g *Gateway) Refused() int64  { return g.refused.Load() }
func (g *Gateway) Accepted() int64 { return g.seen.Load() }

// WriteCert writes the gateway's certificate as PEM into dir and returns
// its path, for SSL_CERT_FILE.
func (g *Gateway) WriteCert(t testing.TB, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "gateway.pem")
	if err := os.WriteFile(p, g.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
