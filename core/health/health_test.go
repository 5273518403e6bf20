package health

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestCheckTriesPathsInOrder(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/health":
			w.WriteHeader(http.StatusNotFound)
		case "/docs":
			http.Redirect(w, r, "/docs/", http.StatusTemporaryRedirect)
		default:
			w.WriteHeader(http.StatusOK)
		}
	}))
	defer srv.Close()
	r := NewProbes(srv.URL, []string{"/health", "/docs", "/"}).Check(context.Background(), time.Second)
	if !r.OK || r.Path != "/docs" || r.Status != http.StatusTemporaryRedirect {
		t.Fatalf("got %+v, want healthy via /docs with 307", r)
	}
}

func TestCheckUnhealthyAndRefused(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	r := NewProbes(srv.URL, []string{"/health", "/"}).Check(context.Background(), time.Second)
	if r.OK || r.Status != http.StatusServiceUnavailable || r.Path != "/" {
		t.Fatalf("got %+v, want unhealthy 503 after trying every path", r)
	}
	url := srv.URL
	srv.Close()
	r = NewProbes(url, []string{"/health", "/"}).Check(context.Background(), time.Second)
	if r.OK || r.Status != 0 || r.Err == nil || r.Path != "/health" {
		t.Fatalf("got %+v, want connection error on the first path", r)
	}
}

func TestReadinessSchedule(t *testing.T) {
	b := ReadinessSchedule()
	first := b.Next()
	if first != 25*time.Millisecond {
		t.Fatalf("first probe after %v, want 25ms", first)
	}
	prev := first
	for i := 0; i < 20; i++ {
		d := b.Next()
		if d < prev || d > time.Second {
			t.Fatalf("interval %v after %v: want non-decreasing and <= 1s", d, prev)
		}
		prev = d
	}
	if prev != time.Second {
		t.Fatalf("interval settles at %v, want 1s", prev)
	}
}

// TestProberKeepsOneConnection: the liveness Prober sends every probe over
// one connection to a server that keeps it, dials again (without a false
// verdict) when the server closed it, and reports unhealthy answers.
func TestProberKeepsOneConnection(t *testing.T) {
	var conns atomic.Int32
	var sick atomic.Bool
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" {
			http.NotFound(w, r)
			return
		}
		if sick.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		w.Write([]byte("{\"status\": \"ok\"}\n"))
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	p, err := NewProber(srv.URL + "/health")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	for range 20 {
		if r := p.Check(ctx, 5*time.Second); !r.OK || r.Status != 200 {
			t.Fatalf("probe: %+v", r)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("20 probes opened %d connections, want 1", n)
	}
	// The server drops idle connections (uvicorn does after 5 s): the next
	// probe dials anew and is still healthy.
	srv.CloseClientConnections()
	if r := p.Check(ctx, 5*time.Second); !r.OK {
		t.Fatalf("probe after the server closed the connection: %+v", r)
	}
	if n := conns.Load(); n != 2 {
		t.Fatalf("%d connections after the server closed one, want 2", n)
	}
	sick.Store(true)
	if r := p.Check(ctx, 5*time.Second); r.OK || r.Status != http.StatusServiceUnavailable {
		t.Fatalf("sick probe: %+v", r)
	}
	srv.Close()
	if r := p.Check(ctx, time.Second); r.OK || r.Err == nil {
		t.Fatalf("probe of a closed server: %+v", r)
	}
	ctx, cancel := context.WithCancel(ctx)
	cancel()
	if r := p.Check(ctx, time.Second); r.OK || !errors.Is(r.Err, context.Canceled) {
		t.Fatalf("cancelled probe: %+v", r)
	}
}
