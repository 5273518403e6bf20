// Command xgen-embedding is the Go stand-in for the xgen-embedding Python
// service: same port, same health and docs paths, a POST /embed that returns
// deterministic vectors, and the seed's slow cold start (MODEL_LOAD_SECONDS)
// so that the supervisor's readiness handling is exercised for real. It is
// pure Go (CGO_ENABLED=0) so it builds on a fresh machine.
//
// Environment: APP_HOST (127.0.0.1), APP_PORT (8002; 0 picks a free port),
// MODEL_LOAD_SECONDS (0), EMBEDDING_DIM (384), READ_TIMEOUT and
// WRITE_TIMEOUT (30s each: a request must arrive, and a reply be taken,
// within them), ALLOWED_HOSTS and ALLOWED_ORIGINS (comma-separated: extra
// Host names and browser origins the httpguard policy accepts; by default
// only loopback hosts and no cross-origin callers, and bodies must be JSON).
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"outrigger/internal/httpguard"
)

// version is set by -ldflags "-X main.version=..." when built for release.
var version = "dev"

// Limits. A reply holds inputs × dim numbers of about 12 bytes of JSON
// each: maxValues keeps it near 3 MB (2 048 inputs at dim 4 096 used to make
// a 106 MB reply from a 10 KB request).
const (
	modelName      = "outrigger-hash-embedding"
	maxDim         = 4096
	maxBody        = 1 << 20 // bytes per request
	maxInputs      = 2048    // texts per request
	maxValues      = 1 << 18 // inputs × dim per request
	maxHeaderBytes = 64 << 10
	shutdownIn     = 5 * time.Second

	readHeaderTimeout   = 10 * time.Second
	defaultReadTimeout  = 30 * time.Second
	defaultWriteTimeout = 30 * time.Second
	idleTimeout         = 2 * time.Minute
)

type config struct {
	host         string
	port         int
	loadDelay    time.Duration
	dim          int
	readTimeout  time.Duration
	writeTimeout time.Duration
	guard        httpguard.Policy
}

// loadConfig reads the environment the supervisor passes (APP_HOST,
// APP_PORT) plus the stand-in's own knobs. getenv is a parameter for tests.
func loadConfig(getenv func(string) string) (config, error) {
	c := config{host: "127.0.0.1", port: 8002, dim: 384, readTimeout: defaultReadTimeout, writeTimeout: defaultWriteTimeout}
	for _, d := range []struct {
		key string
		v   *time.Duration
	}{{"READ_TIMEOUT", &c.readTimeout}, {"WRITE_TIMEOUT", &c.writeTimeout}} {
		if v := getenv(d.key); v != "" {
			t, err := time.ParseDuration(v)
			if err != nil || t <= 0 {
				return c, fmt.Errorf("%s %q: want a positive duration such as 30s", d.key, v)
			}
			*d.v = t
		}
	}
	c.guard = httpguard.Policy{Hosts: list(getenv("ALLOWED_HOSTS")), Origins: list(getenv("ALLOWED_ORIGINS"))}
	if v := getenv("APP_HOST"); v != "" {
		c.host = v
	}
	if v := getenv("APP_PORT"); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil || p < 0 || p > 65535 {
			return c, fmt.Errorf("APP_PORT %q: not a port number", v)
		}
		c.port = p
	}
	if v := getenv("MODEL_LOAD_SECONDS"); v != "" {
		s, err := strconv.ParseFloat(v, 64)
		if err != nil || s < 0 || s > 3600 {
			return c, fmt.Errorf("MODEL_LOAD_SECONDS %q: want seconds between 0 and 3600", v)
		}
		c.loadDelay = time.Duration(s * float64(time.Second))
	}
	if v := getenv("EMBEDDING_DIM"); v != "" {
		d, err := strconv.Atoi(v)
		if err != nil || d < 1 || d > maxDim {
			return c, fmt.Errorf("EMBEDDING_DIM %q: want an integer in 1..%d", v, maxDim)
		}
		c.dim = d
	}
	return c, nil
}

func list(v string) []string {
	var out []string
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func main() {
	logger := log.New(os.Stdout, "xgen-embedding: ", log.LstdFlags|log.Lmicroseconds)
	cfg, err := loadConfig(os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "xgen-embedding: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := run(ctx, cfg, logger); err != nil {
		fmt.Fprintf(os.Stderr, "xgen-embedding: %v\n", err)
		os.Exit(1)
	}
}

// run loads the "model", binds, serves until ctx is cancelled, then shuts
// down gracefully. The port is bound only after loading, like the seed:
// a supervisor sees connection refused, not errors, while the model loads.
func run(ctx context.Context, cfg config, logger *log.Logger) error {
	logger.Printf("version %s; loading model %s (dim %d, %.1fs) ...", version, modelName, cfg.dim, cfg.loadDelay.Seconds())
	select {
	case <-time.After(cfg.loadDelay):
	case <-ctx.Done():
		logger.Printf("stopped while loading the model")
		return nil
	}
	logger.Printf("model loaded")

	addr := net.JoinHostPort(cfg.host, strconv.Itoa(cfg.port))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("bind: %w", err)
	}
	srv := newServer(cfg, logger)
	logger.Printf("listening on http://%s", l.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Printf("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownIn)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	logger.Printf("stopped")
	return nil
}

// newServer is the HTTP server: the routes behind the request log and the
// httpguard policy, with every timeout set.
func newServer(cfg config, logger *log.Logger) *http.Server {
	return &http.Server{
		Handler:           logRequests(logger, cfg.guard.Wrap(newHandler(cfg, logger))),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       cfg.readTimeout,
		WriteTimeout:      cfg.writeTimeout, // a client that does not take its reply is dropped
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
	}
}

// statusRecorder remembers the status code for the request log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// logRequests writes one line per request to stdout, which the supervisor
// captures into its log view.
func logRequests(logger *log.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		path := r.URL.Path
		if len(path) > 200 {
			path = path[:200] + "…"
		}
		logger.Printf("%s %s %d %s", r.Method, path, rec.status, time.Since(start).Round(time.Microsecond))
	})
}
