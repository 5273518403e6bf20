package workflow

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"outrigger/internal/httpguard"
	"outrigger/internal/workflow/jsoncheck"
	"outrigger/internal/workflow/wfapi"
)

// Options configure a Service (cmd/xgen-workflow fills them from the
// environment).
type Options struct {
	DataDir       string // holds workflow.db; required
	MaxWorkers    int    // default 10
	MaxQueued     int    // 0: default 100; negative: no queue (busy means 429)
	EmbeddingURL  string
	WebhookSecret string
	// ShutdownGrace is how long Shutdown lets running executions finish
	// before marking them interrupted; default 3s.
	ShutdownGrace time.Duration
	Logger        *slog.Logger
	Version       string
	// Workflows replaces the built-in catalogue when non-nil (tests).
	Workflows []Workflow
	// Webhook retry tuning; zero: the Manager's defaults.
	WebhookAttempts int
	WebhookBackoff  time.Duration
	// WebhookBudget bounds the bytes of webhook bodies held at once; zero:
	// DefaultWebhookBudget.
	WebhookBudget int64
	// PingInterval is the SSE keep-alive comment interval; default 15s.
	PingInterval time.Duration

	// AllowedHosts and AllowedOrigins extend the httpguard policy (loopback
	// Host values only, no cross-origin callers, JSON bodies) that every
	// request passes.
	AllowedHosts   []string
	AllowedOrigins []string

	// HTTP server timeouts; zero: the Default* constants. WriteTimeout bounds
	// a whole reply, and each write of a stream (extended per write, so a
	// long stream that is read lives as long as its execution); negative is
	// refused. A negative ReadHeaderTimeout, ReadTimeout or IdleTimeout is
	// none (as in net/http).
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	// MaxStreamBuffer is how many bytes of events a stream may fall behind
	// before it is dropped; zero: DefaultMaxStreamBuffer.
	MaxStreamBuffer int64

	// Keep is how long finished executions are kept; zero: DefaultKeep;
	// negative: forever. MaxDBBytes caps the database's used size (oldest
	// finished executions are pruned first); zero: DefaultMaxDBBytes;
	// negative: no cap. PruneInterval is how often pruning runs at the
	// latest; zero: DefaultPruneInterval; negative is refused.
	Keep          time.Duration
	MaxDBBytes    int64
	PruneInterval time.Duration

	// Test seams (see ManagerConfig.beforePublish, Store.failWrite and
	// Store.betweenReads).
	beforePublish func(ex *Execution, name string, data []byte)
	failWrite     func(query string, args []any) error
	betweenReads  func()
}

// Defaults of Options. Every HTTP server has all four timeouts: a client
// that sends headers or a body slowly, or stops reading, is dropped.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 30 * time.Second // the whole request, body included (≤ MaxRequestBody)
	DefaultWriteTimeout      = 30 * time.Second // a reply, or one write of a stream
	DefaultIdleTimeout       = 2 * time.Minute
	DefaultMaxStreamBuffer   = 256 << 10 // bytes a stream may lag behind its execution
	DefaultKeep              = 30 * 24 * time.Hour
	DefaultMaxDBBytes        = 1 << 30
	DefaultPruneInterval     = time.Minute
)

// Service is the whole sidecar: store, manager and HTTP handler.
type Service struct {
	opts    Options
	log     *slog.Logger
	store   *Store
	mgr     *Manager
	handler http.Handler
	srv     *http.Server
	started time.Time
	stopped atomic.Bool

	bg     context.Context // the background checks and pruning; cancelled by Shutdown
	bgStop context.CancelFunc
	bgWG   sync.WaitGroup
}

// Open opens the database under opts.DataDir (marking executions a previous
// process left queued or running as interrupted) and builds the service.
func Open(ctx context.Context, opts Options) (*Service, error) {
	if opts.DataDir == "" {
		return nil, errors.New("workflow: Options.DataDir is empty")
	}
	// No meaning to guess for these: a ticker cannot tick at a negative
	// interval (time.NewTicker panics), and a write deadline in the past
	// fails every write.
	for _, d := range []struct {
		field string
		v     time.Duration
	}{{"PruneInterval", opts.PruneInterval}, {"WriteTimeout", opts.WriteTimeout}} {
		if d.v < 0 {
			return nil, fmt.Errorf("workflow: Options.%s is negative (%v); zero takes the default", d.field, d.v)
		}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.ShutdownGrace <= 0 {
		opts.ShutdownGrace = 3 * time.Second
	}
	if opts.PingInterval <= 0 {
		opts.PingInterval = 15 * time.Second
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	setDefault(&opts.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	setDefault(&opts.ReadTimeout, DefaultReadTimeout)
	setDefault(&opts.WriteTimeout, DefaultWriteTimeout)
	setDefault(&opts.IdleTimeout, DefaultIdleTimeout)
	setDefault(&opts.MaxStreamBuffer, DefaultMaxStreamBuffer)
	setDefault(&opts.Keep, DefaultKeep)
	setDefault(&opts.MaxDBBytes, DefaultMaxDBBytes)
	setDefault(&opts.PruneInterval, DefaultPruneInterval)
	log := opts.Logger
	path := filepath.Join(opts.DataDir, DBFile)
	store, interrupted, err := OpenStore(ctx, path)
	if err != nil {
		return nil, err
	}
	store.failWrite = opts.failWrite
	store.betweenReads = opts.betweenReads
	log.Info("database open", "path", path, "marked_interrupted", interrupted)
	wfs := opts.Workflows
	if wfs == nil {
		wfs = Builtin(opts.EmbeddingURL, nil)
	}
	mgr, err := NewManager(ManagerConfig{
		Store: store, Workflows: wfs, Logger: log,
		MaxWorkers: opts.MaxWorkers, MaxQueued: opts.MaxQueued,
		WebhookSecret: opts.WebhookSecret, WebhookAttempts: opts.WebhookAttempts, WebhookBackoff: opts.WebhookBackoff,
		WebhookBudget:   opts.WebhookBudget,
		MaxStreamBuffer: opts.MaxStreamBuffer, beforePublish: opts.beforePublish,
	})
	if err != nil {
		store.Close()
		return nil, err
	}
	s := &Service{opts: opts, log: log, store: store, mgr: mgr, started: time.Now()}
	s.handler = s.routes()
	s.srv = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: opts.ReadHeaderTimeout,
		ReadTimeout:       opts.ReadTimeout,
		WriteTimeout:      opts.WriteTimeout,
		IdleTimeout:       opts.IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	s.bg, s.bgStop = context.WithCancel(context.Background())
	s.bgWG.Add(2)
	go func() { defer s.bgWG.Done(); s.store.backgroundCheck(s.bg, log) }()
	go func() {
		defer s.bgWG.Done()
		s.store.pruneLoop(s.bg, log, opts.Keep, opts.MaxDBBytes, opts.PruneInterval, mgr.finished)
	}()
	return s, nil
}

func setDefault[T int64 | time.Duration](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}

// MaxHeaderBytes bounds a request's header (1 MB URLs are refused with 431).
const MaxHeaderBytes = 64 << 10

// Handler is the HTTP API (for httptest or an own server).
func (s *Service) Handler() http.Handler { return s.handler }

// Manager is the execution manager.
func (s *Service) Manager() *Manager { return s.mgr }

// Store is the database.
func (s *Service) Store() *Store { return s.store }

// Serve serves the API on ln until Shutdown; it returns nil after Shutdown.
func (s *Service) Serve(ln net.Listener) error {
	s.log.Info("listening", "addr", ln.Addr().String(), "max_workers", s.mgr.cfg.MaxWorkers, "max_queued", s.mgr.cfg.MaxQueued)
	err := s.srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting connections and executions, gives running
// executions the grace period to finish (then stores them as interrupted),
// lets open streams deliver their end event, and closes the database. ctx
// bounds the whole; it should allow somewhat more than the grace period.
func (s *Service) Shutdown(ctx context.Context) error {
	if s.stopped.Swap(true) {
		return nil
	}
	s.log.Info("shutting down", "grace", s.opts.ShutdownGrace)
	srvDone := make(chan error, 1)
	go func() { srvDone <- s.srv.Shutdown(ctx) }() // closes the listeners at once

	grace, cancel := context.WithTimeout(ctx, s.opts.ShutdownGrace)
	s.mgr.Shutdown(grace)
	cancel()

	err := <-srvDone
	if err != nil {
		s.log.Warn("open connections did not end in time; closing them", "err", err)
		s.srv.Close()
	}
	s.bgStop()
	s.bgWG.Wait()
	if cerr := s.store.Close(); cerr != nil {
		s.log.Error("closing database", "err", cerr)
		return cerr
	}
	s.log.Info("stopped")
	return nil
}

// ---- routes ----

func (s *Service) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", s.health)
	mux.HandleFunc("GET /docs", s.docs)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/docs", http.StatusFound)
	})
	mux.HandleFunc("GET /workflows", s.listWorkflows)
	mux.HandleFunc("POST /workflow/stream", s.workflowStream)
	mux.HandleFunc("POST /deploy/stream", s.deployStream)
	mux.HandleFunc("GET /results/{interaction_id}", s.results)
	mux.HandleFunc("POST /executions/{interaction_id}/cancel", s.cancel)
	mux.HandleFunc("GET /executions/status", s.execStatus)
	guard := httpguard.Policy{Hosts: s.opts.AllowedHosts, Origins: s.opts.AllowedOrigins}
	return s.logRequests(guard.Wrap(mux))
}

// health takes no lock and touches no database: it answers while every
// worker is busy.
func (s *Service) health(w http.ResponseWriter, r *http.Request) {
	st := s.mgr.Status()
	code, status := http.StatusOK, "ok"
	if !st.Accepting {
		code, status = http.StatusServiceUnavailable, "stopping"
	}
	writeJSON(w, code, map[string]any{
		"status":     status,
		"service":    "xgen-workflow",
		"version":    s.opts.Version,
		"uptime_s":   int64(time.Since(s.started).Seconds()),
		"maxWorkers": st.MaxWorkers,
		"running":    st.Running,
		"queued":     st.Queued,
	})
}

func (s *Service) listWorkflows(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"workflows": s.mgr.Workflows()})
}

func (s *Service) execStatus(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.mgr.Status())
}

func (s *Service) results(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("interaction_id")
	res, err := s.store.Result(r.Context(), id)
	if errors.Is(err, ErrNotFound) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no execution with interaction_id %q", id), "")
		return
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error(), "")
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Service) cancel(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("interaction_id")
	err := s.mgr.Cancel(r.Context(), id)
	switch {
	case err == nil:
		writeJSON(w, http.StatusAccepted, map[string]string{"interaction_id": id, "status": "cancelling"})
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, fmt.Sprintf("no execution with interaction_id %q", id), "")
	case errors.Is(err, ErrFinished):
		st := ""
		var fe *finishedError
		if errors.As(err, &fe) {
			st = fe.status
		} else if res, rerr := s.store.Result(r.Context(), id); rerr == nil {
			st = res.Status
		}
		writeError(w, http.StatusConflict, err.Error(), st)
	default:
		writeError(w, http.StatusInternalServerError, err.Error(), "")
	}
}

// MaxRequestBody bounds a run request's body.
const MaxRequestBody = 1 << 20

func (s *Service) decodeRun(w http.ResponseWriter, r *http.Request) (RunRequest, bool) {
	var req RunRequest
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", MaxRequestBody), "")
		} else {
			writeError(w, http.StatusBadRequest, "reading the body: "+err.Error(), "")
		}
		return req, false
	}
	// Stored and answered as given, or refused: never silently changed.
	if err := jsoncheck.Text(body); err != nil {
		writeError(w, http.StatusBadRequest, "body: "+err.Error(), "")
		return req, false
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, "bad JSON body: "+err.Error(), "")
		return req, false
	}
	if req.WorkflowID == "" {
		writeError(w, http.StatusBadRequest, "workflow_id is required", "")
		return req, false
	}
	return req, true
}

// submit admits req or writes the error reply.
func (s *Service) submit(w http.ResponseWriter, req RunRequest, follow bool) (*Execution, bool) {
	ex, err := s.mgr.submit(req, follow)
	if err == nil {
		return ex, true
	}
	var inErr *InputError
	var reused *ReusedError
	switch {
	case errors.Is(err, ErrUnknownWorkflow):
		writeError(w, http.StatusNotFound, err.Error(), "")
	case errors.As(err, &inErr):
		writeError(w, http.StatusBadRequest, err.Error(), "")
	case errors.As(err, &reused):
		writeError(w, http.StatusConflict, err.Error(), reused.Status)
	case errors.Is(err, ErrDuplicate):
		writeError(w, http.StatusConflict, err.Error(), "")
	case errors.Is(err, ErrQueueFull):
		w.Header().Set("Retry-After", "2")
		writeError(w, http.StatusTooManyRequests, err.Error(), "")
	case errors.Is(err, ErrClosed):
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, err.Error(), "")
	default:
		writeError(w, http.StatusInternalServerError, err.Error(), "")
	}
	return nil, false
}

func newInteractionID(prefix string) string {
	var b [12]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

func (s *Service) workflowStream(w http.ResponseWriter, r *http.Request) {
	req, ok := s.decodeRun(w, r)
	if !ok {
		return
	}
	if req.InteractionID == "" {
		req.InteractionID = newInteractionID("run_")
	}
	ex, ok := s.submit(w, req, true)
	if !ok {
		return
	}
	s.streamSSE(w, r, ex)
}

func (s *Service) deployStream(w http.ResponseWriter, r *http.Request) {
	req, ok := s.decodeRun(w, r)
	if !ok {
		return
	}
	format := strings.ToLower(req.ResponseFormat)
	if format == "" {
		format = "json"
	}
	if format != "json" && format != "stream" {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("response_format %q: want json or stream", req.ResponseFormat), "")
		return
	}
	switch {
	case req.InteractionID == "":
		req.InteractionID = newInteractionID("deploy_")
	case !strings.HasPrefix(req.InteractionID, "deploy_"):
		req.InteractionID = "deploy_" + req.InteractionID
	}
	ex, ok := s.submit(w, req, format == "stream")
	if !ok {
		return
	}
	if format == "stream" {
		s.streamSSE(w, r, ex)
		return
	}
	w.Header().Set("X-Interaction-Id", ex.InteractionID)
	// No read deadline to lift: net/http clears it once the body is read.
	select {
	case <-ex.Done():
	case <-r.Context().Done():
		s.log.Info("deploy client went away; the execution continues", "interaction_id", ex.InteractionID)
		return
	}
	// The reply may come long after the request: the write timeout counts
	// from here.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(s.opts.WriteTimeout))
	res, err := s.store.resultByID(r.Context(), ex.ID())
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error(), "")
		return
	}
	if end := ex.End(); res.Status != end.Status {
		// No record of the end could be stored (the store still says
		// queued or running): answer how it ended, as the stream does.
		res.Status, res.Error, res.Output = end.Status, end.Error, end.Output
	}
	writeJSON(w, http.StatusOK, res)
}

// streamSSE follows ex from its first event to its end. When the client goes
// away it simply stops writing; the execution is not affected. A client that
// stops reading is dropped once it is MaxStreamBuffer bytes behind (the
// Execution then stops keeping events for it) or once one write has waited
// WriteTimeout; the execution goes on and its result stays at /results.
func (s *Service) streamSSE(w http.ResponseWriter, r *http.Request, ex *Execution) {
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	h.Set("X-Accel-Buffering", "no")
	h.Set("X-Interaction-Id", ex.InteractionID)

	// When ex drops this stream, a write blocked on a client that does not
	// read is cut short through its deadline. wmu orders that against the
	// per-write deadline below; the watcher ends before the handler returns
	// (a ResponseController must not be used after that).
	var wmu sync.Mutex
	aborted := false
	stopWatch, watchDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(watchDone)
		select {
		case <-ex.dropped:
			wmu.Lock()
			aborted = true
			_ = rc.SetWriteDeadline(time.Now())
			wmu.Unlock()
		case <-stopWatch:
		}
	}()
	defer func() { close(stopWatch); <-watchDone }()
	write := func(b []byte) error {
		wmu.Lock()
		if aborted {
			wmu.Unlock()
			return errStreamDropped
		}
		_ = rc.SetWriteDeadline(time.Now().Add(s.opts.WriteTimeout))
		wmu.Unlock()
		if _, err := w.Write(b); err != nil {
			return err
		}
		return rc.Flush()
	}
	gone := func(err error) {
		if isClosed(ex.dropped) {
			s.log.Warn("stream dropped: the client is not reading; the execution continues and its result stays at /results/"+ex.InteractionID,
				"interaction_id", ex.InteractionID, "max_buffer", s.opts.MaxStreamBuffer)
			return
		}
		s.clientGone(ex, err)
	}

	if err := write(nil); err != nil { // the header, at once
		gone(err)
		return
	}
	ping := time.NewTicker(s.opts.PingInterval)
	defer ping.Stop()
	var buf []byte
	next := 0
	for {
		evs, done, changed := ex.take()
		if len(evs) > 0 {
			size := 0
			for _, ev := range evs {
				size += len(ev.data) + len(ev.name) + 40 // framing
			}
			if cap(buf) < size {
				buf = make([]byte, 0, size) // exact: a stalled stream holds no more than its lag
			}
			buf = buf[:0]
			var n int64
			for _, ev := range evs {
				buf = appendSSE(buf, next, ev)
				n += int64(len(ev.data))
				next++
			}
			evs = nil // only buf holds them now
			if err := write(buf); err != nil {
				gone(err)
				return
			}
			ex.wrote(n)
			if cap(buf) > 64<<10 {
				buf = nil // do not keep a large event's buffer for the rest of the stream
			}
			continue // there may be more already
		}
		if done {
			return
		}
		select {
		case <-changed:
		case <-ex.dropped:
			gone(errStreamDropped)
			return
		case <-ping.C:
			if err := write([]byte(": ping\n\n")); err != nil {
				gone(err)
				return
			}
		case <-r.Context().Done():
			gone(context.Cause(r.Context()))
			return
		}
	}
}

var errStreamDropped = errors.New("stream dropped: the client fell too far behind")

func (s *Service) clientGone(ex *Execution, err error) {
	select {
	case <-ex.Done():
		return
	default:
	}
	s.log.Info("stream client went away; the execution continues", "interaction_id", ex.InteractionID, "err", err)
}

func appendSSE(b []byte, id int, ev sseEvent) []byte {
	b = fmt.Appendf(b, "id: %d\n", id)
	if ev.name != "" {
		b = append(b, "event: "...)
		b = append(b, ev.name...)
		b = append(b, '\n')
	}
	// JSON from encoding/json never contains a raw newline.
	b = append(b, "data: "...)
	b = append(b, ev.data...)
	return append(b, '\n', '\n')
}

// ---- helpers ----

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code = http.StatusInternalServerError
		b = []byte(`{"error":"encoding reply"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, code int, msg, status string) {
	writeJSON(w, code, wfapi.ErrorBody{Error: msg, Status: status})
}

// statusWriter records the reply's status and size for the request log.
type statusWriter struct {
	http.ResponseWriter
	code  int
	bytes int64
}

func (sw *statusWriter) WriteHeader(code int) {
	if sw.code == 0 {
		sw.code = code
	}
	sw.ResponseWriter.WriteHeader(code)
}

func (sw *statusWriter) Write(b []byte) (int, error) {
	if sw.code == 0 {
		sw.code = http.StatusOK
	}
	n, err := sw.ResponseWriter.Write(b)
	sw.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach Flush and SetWriteDeadline.
func (sw *statusWriter) Unwrap() http.ResponseWriter { return sw.ResponseWriter }

// logRequests logs one line per request when it ends. Successful /health
// probes are logged at Debug: the supervisor polls it.
func (s *Service) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t0 := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.code == 0 {
			sw.code = http.StatusOK
		}
		level := slog.LevelInfo
		if r.URL.Path == "/health" && sw.code == http.StatusOK {
			level = slog.LevelDebug
		}
		s.log.Log(r.Context(), level, "request", "method", r.Method, "path", clip(r.URL.Path), "status", sw.code,
			"bytes", sw.bytes, "duration", time.Since(t0).Round(time.Microsecond), "remote", r.RemoteAddr)
	})
}

// clip bounds what a request can put into one log line.
func clip(s string) string {
	const max = 200
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}
