// Command xgen-workflow is the Go stand-in for the XGEN workflow engine
// sidecar. See internal/workflow and GET /docs.
//
// Environment: APP_HOST (127.0.0.1), APP_PORT (8001; 0 picks a free port,
// logged as "listening addr=..."), DATA_DIR (default: xgen-workflow under
// the user cache dir), MAX_CONCURRENT_WORKFLOWS (10), MAX_QUEUED_WORKFLOWS
// (100), EMBEDDING_URL (http://127.0.0.1:8002), WEBHOOK_SECRET (optional),
// SHUTDOWN_GRACE (3s), LOG_LEVEL (info; debug logs every /health probe and
// node).
//
// Browser safety (internal/httpguard): requests must name a loopback address
// or localhost in Host, come from no other browser origin, and send JSON
// bodies. ALLOWED_HOSTS and ALLOWED_ORIGINS (comma-separated host names, and
// scheme://host[:port] origins) extend what is accepted.
//
// Limits: READ_TIMEOUT (30s, the whole request), WRITE_TIMEOUT (30s, a reply
// or one write of a stream), STREAM_BUFFER_BYTES (262144: a stream that
// falls further behind is dropped; its execution goes on). Retention: KEEP
// (30d; finished executions older than that are pruned; "0" keeps them) and
// DB_MAX_MB (1024; the oldest finished executions are pruned while the
// database uses more; "0": no cap). Pruning runs in the background and
// never takes a run within 5 s of its end, whatever KEEP says.
// DATA_DIR is created 0700, workflow.db and its -wal/-shm are 0600; an
// engine holds workflow.db.lock while it runs, so a second one started on
// the same DATA_DIR is refused instead of taking the first one's running
// executions for leftovers.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"outrigger/internal/workflow"
)

var version = "dev"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "xgen-workflow:", err)
		os.Exit(1)
	}
}

func env(key, def string) string {
	if v := strings.TrimSpace(os.Getenv(key)); v != "" {
		return v
	}
	return def
}

func envInt(key string, def int) (int, error) {
	v := env(key, "")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("%s=%q: %w", key, v, err)
	}
	return n, nil
}

// envDuration reads a Go duration, or a number of days ("30d").
func envDuration(key string, def time.Duration) (time.Duration, error) {
	v := env(key, "")
	if v == "" {
		return def, nil
	}
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		if err != nil || n < 0 || n > 100*365 {
			return 0, fmt.Errorf("%s=%q: want a duration such as 30d or 12h", key, v)
		}
		return time.Duration(n * float64(24*time.Hour)), nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s=%q: want a duration such as 30d or 12h", key, v)
	}
	return d, nil
}

// envList splits a comma-separated list.
func envList(key string) []string {
	var out []string
	for _, f := range strings.Split(env(key, ""), ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func run() error {
	level := slog.LevelInfo
	if err := level.UnmarshalText([]byte(env("LOG_LEVEL", "info"))); err != nil {
		return fmt.Errorf("LOG_LEVEL: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{Level: level}))

	workers, err := envInt("MAX_CONCURRENT_WORKFLOWS", 10)
	if err != nil {
		return err
	}
	queued, err := envInt("MAX_QUEUED_WORKFLOWS", 100)
	if err != nil {
		return err
	}
	if workers < 1 || queued < 0 {
		return errors.New("MAX_CONCURRENT_WORKFLOWS must be ≥ 1 and MAX_QUEUED_WORKFLOWS ≥ 0")
	}
	if queued == 0 {
		queued = -1 // the Manager's "no queue"
	}
	grace, err := time.ParseDuration(env("SHUTDOWN_GRACE", "3s"))
	if err != nil {
		return fmt.Errorf("SHUTDOWN_GRACE: %w", err)
	}
	dataDir := env("DATA_DIR", "")
	if dataDir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return fmt.Errorf("DATA_DIR is not set and there is no user cache dir: %w", err)
		}
		dataDir = filepath.Join(cache, "xgen-workflow")
	}
	if env("DATA_DIR", "") == "" {
		// The stand-in's own folder: private, also when an older version
		// created it 0755.
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return err
		}
		if err := os.Chmod(dataDir, 0o700); err != nil {
			return err
		}
	}
	readTimeout, err := envDuration("READ_TIMEOUT", workflow.DefaultReadTimeout)
	if err != nil {
		return err
	}
	writeTimeout, err := envDuration("WRITE_TIMEOUT", workflow.DefaultWriteTimeout)
	if err != nil {
		return err
	}
	streamBuffer, err := envInt("STREAM_BUFFER_BYTES", workflow.DefaultMaxStreamBuffer)
	if err != nil {
		return err
	}
	keep, err := envDuration("KEEP", workflow.DefaultKeep)
	if err != nil {
		return err
	}
	if keep == 0 {
		keep = -1 // the Options' "for ever"
	}
	maxMB, err := envInt("DB_MAX_MB", workflow.DefaultMaxDBBytes>>20)
	if err != nil {
		return err
	}
	maxDB := int64(maxMB) << 20
	if maxMB == 0 {
		maxDB = -1
	}
	if streamBuffer < 1 || maxMB < 0 || keep < -1 || readTimeout <= 0 || writeTimeout <= 0 {
		return errors.New("STREAM_BUFFER_BYTES must be ≥ 1, DB_MAX_MB and KEEP ≥ 0, READ_TIMEOUT and WRITE_TIMEOUT > 0")
	}
	addr := net.JoinHostPort(env("APP_HOST", "127.0.0.1"), env("APP_PORT", "8001"))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	svc, err := workflow.Open(ctx, workflow.Options{
		DataDir:       dataDir,
		MaxWorkers:    workers,
		MaxQueued:     queued,
		EmbeddingURL:  env("EMBEDDING_URL", "http://127.0.0.1:8002"),
		WebhookSecret: os.Getenv("WEBHOOK_SECRET"),
		ShutdownGrace: grace,
		Logger:        log,
		Version:       version,

		AllowedHosts:    envList("ALLOWED_HOSTS"),
		AllowedOrigins:  envList("ALLOWED_ORIGINS"),
		ReadTimeout:     readTimeout,
		WriteTimeout:    writeTimeout,
		MaxStreamBuffer: int64(streamBuffer),
		Keep:            keep,
		MaxDBBytes:      maxDB,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		svc.Shutdown(context.Background())
		return err
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- svc.Serve(ln) }()

	select {
	case <-ctx.Done():
		log.Info("signal received")
	case err = <-serveErr:
		log.Error("server stopped", "err", err)
	}
	stop() // a second signal ends the process at once
	sctx, cancel := context.WithTimeout(context.Background(), grace+5*time.Second)
	defer cancel()
	if serr := svc.Shutdown(sctx); serr != nil && err == nil {
		err = serr
	}
	return err
}
