// Package control is Outrigger's control API: HTTP/1.1 with JSON, served
// by the running instance on its single-instance endpoint (core/instance:
// a 0600 Unix socket, or a named pipe on Windows) and, when [api] listen is
// set, on a loopback TCP port with a bearer token. The CLI (internal/cli),
// scripts and a browser frontend use it; every route calls the same
// supervisor and mode-controller methods the window does, so nothing can be
// done from one that the other cannot.
//
// Routes (all under /v1):
//
//	GET  /sidecars                       every sidecar's status
//	GET  /sidecars/{name}                one sidecar's status
//	POST /sidecars/{name}/{action}       start | stop | restart | reset; ?wait=ready|stopped&timeout=30s
//	POST /sidecars/{action}              start | stop, every sidecar
//	GET  /sidecars/{name}/logs           ?tail=N&follow=1&stream=stdout|stderr (NDJSON, or SSE)
//	GET  /events                         Server-Sent Events; Last-Event-ID resumes
//	GET  /mode, PUT /mode                standalone | service NAME | connected URL
//	GET  /version
//	GET  /diagnostics                    the diagnostics report (application/zip)
//	POST /quit, POST /show
//
// Errors are {"error": "...", "code": "..."} with 400, 404, 405, 409, 413 or 503.
package control

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"path"
	"sync"
	"time"

	"outrigger/core/diagnostics"
	"outrigger/core/modes"
	"outrigger/core/supervisor"
	"outrigger/internal/httpguard"
)

// APIVersion is the path prefix's number, also reported by GET /v1/version.
const APIVersion = 1

// Limits of one request.
const (
	// MaxBody is the largest request body accepted (PUT /v1/mode is the
	// only route that reads one; the others refuse anything bigger too).
	MaxBody = 64 << 10
	// MaxHeaderBytes bounds a request's headers.
	MaxHeaderBytes = 64 << 10
	// DefaultWait and MaxWait bound ?wait= (set with ?timeout=).
	DefaultWait = 60 * time.Second
	MaxWait     = 10 * time.Minute
	// writeStall is how long one write of a stream may block before the
	// client is dropped as stalled: it gets no backlog in the meantime.
	writeStall = 30 * time.Second
	// heartbeat keeps idle streams (and proxies) alive and finds dead peers.
	heartbeat = 15 * time.Second
)

// Deps are what the API drives. Sup and Modes are required.
type Deps struct {
	Sup     *supervisor.Supervisor
	Modes   *modes.Controller
	Version string
	// Quit starts the app's one quit path and returns at once (it must not
	// wait for the quit: the quit closes this server).
	Quit func()
	// Show brings the window forward; it reports false when there is no
	// window (headless). nil is the same as headless.
	Show func() bool
	// Diagnostics gives what GET /v1/diagnostics reports besides the
	// supervisor's live statuses and rings (Sidecars is set by the API):
	// the effective config, the log paths, the versions. nil: the route
	// answers 503.
	Diagnostics func() diagnostics.Options
	// Watch asks for live CPU and memory samples (the watchdog's fast
	// sweep) until the returned func is called; the API asks while clients
	// look at status (see LookFor). nil: nothing to ask.
	Watch  func() (cancel func())
	Logger *slog.Logger
}

// Server serves the API on any number of listeners until Close.
type Server struct {
	d      Deps
	log    *slog.Logger
	hub    *hub
	mux    http.Handler
	ctx    context.Context // ends background commands and streams at Close
	cancel context.CancelFunc
	look   *looking // live metrics while clients look at them
	// stall is writeStall; a test of stalled clients on a slow machine
	// sets it longer, before Serve.
	stall time.Duration

	mu      sync.Mutex
	servers []*http.Server
	closed  bool
	serving sync.WaitGroup // one per Serve
	jobs    sync.WaitGroup // commands still running after their request answered
	once    sync.Once
}

// New makes the server and starts its event hub; nothing listens yet.
func New(d Deps) *Server {
	if d.Sup == nil || d.Modes == nil {
		panic("control: Deps.Sup and Deps.Modes are required")
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{d: d, log: d.Logger, ctx: ctx, cancel: cancel, look: &looking{watch: d.Watch}, stall: writeStall}
	s.hub = newHub(d.Sup, d.Modes)
	s.mux = s.routes()
	return s
}

// Handler is the API without transport checks (tests, benchmarks).
func (s *Server) Handler() http.Handler { return s.mux }

func (s *Server) routes() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("GET /v1/sidecars", s.listSidecars)
	m.HandleFunc("GET /v1/sidecars/{name}", s.getSidecar)
	m.HandleFunc("POST /v1/sidecars/{name}/{action}", s.sidecarAction)
	m.HandleFunc("POST /v1/sidecars/{action}", s.allAction)
	m.HandleFunc("GET /v1/sidecars/{name}/logs", s.logs)
	m.HandleFunc("GET /v1/events", s.events)
	m.HandleFunc("GET /v1/mode", s.getMode)
	m.HandleFunc("PUT /v1/mode", s.putMode)
	m.HandleFunc("GET /v1/version", s.version)
	m.HandleFunc("GET /v1/diagnostics", s.diagnostics)
	m.HandleFunc("POST /v1/quit", s.quit)
	m.HandleFunc("POST /v1/show", s.show)
	// Known paths with another method: a JSON 405 rather than the mux's text.
	for _, p := range []string{"/v1/sidecars", "/v1/sidecars/{name}", "/v1/sidecars/{name}/{action}",
		"/v1/events", "/v1/mode", "/v1/version", "/v1/diagnostics", "/v1/quit", "/v1/show"} {
		m.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			fail(w, http.StatusMethodNotAllowed, CodeMethod, r.Method+" is not allowed on "+clip(r.URL.Path))
		})
	}
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fail(w, http.StatusNotFound, CodeNotFound, "no route "+clip(r.URL.Path)+" (see GET /v1/version; routes are under /v1/)")
	})
	return limitBody(m)
}

// Serve serves the API on ln (the instance's socket or pipe) until Close.
// Requests pass the same Host/Origin/Content-Type guard as every local
// server: a browser cannot reach a socket, but the rule is one rule.
func (s *Server) Serve(ln net.Listener) error {
	return s.serve(ln, httpguard.Policy{}.Wrap(s.mux))
}

func (s *Server) serve(ln net.Listener, h http.Handler) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    MaxHeaderBytes,
		BaseContext:       func(net.Listener) context.Context { return s.ctx },
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		// No WriteTimeout: streams are long; each write of one has its own
		// deadline (writeStall).
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return nil // closed before it started: the same as closed after
	}
	s.servers = append(s.servers, srv)
	s.serving.Add(1)
	s.mu.Unlock()
	defer s.serving.Done()
	err := srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close stops every listener, ends the open streams and the commands still
// running, and returns once every goroutine of the server has ended.
func (s *Server) Close() error {
	var err error
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		servers := s.servers
		s.mu.Unlock()
		s.cancel() // streams and waits end; their handlers return
		s.look.close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, srv := range servers {
			if e := srv.Shutdown(ctx); e != nil {
				srv.Close()
				err = errors.Join(err, e)
			}
		}
		s.serving.Wait()
		s.jobs.Wait()
		s.hub.close()
	})
	return err
}

// run starts a command that may outlive its request (the request answers
// when the command is accepted); Close waits for it. Its result arrives on
// the returned channel.
func (s *Server) run(fn func(ctx context.Context) error) <-chan error {
	ch := make(chan error, 1)
	s.jobs.Add(1)
	go func() {
		defer s.jobs.Done()
		ch <- fn(s.ctx)
	}()
	return ch
}

// limitBody refuses bodies over MaxBody before any handler reads them, and
// unclean paths.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > MaxBody {
			fail(w, http.StatusRequestEntityTooLarge, CodeTooLarge, "request body too large (the limit is 64 KiB)")
			return
		}
		// The mux would answer an unclean path ("/v1/./mode") with an HTML
		// redirect; an API client gets a JSON 404 instead.
		if p := r.URL.Path; p == "" || path.Clean(p) != p {
			fail(w, http.StatusNotFound, CodeNotFound, "no route "+clip(p)+" (paths are clean: no ., .. or double slashes)")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
		next.ServeHTTP(w, r)
	})
}
