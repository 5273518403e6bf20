// Command xgen-workflow is the Go stand-in for the XGEN workflow engine
// sidecar. See internal/workflow and GET /docs.
//
// Environment: APP_HOST (127.0.0.1), APP_PORT (8001; 0 picks a free port,
// logged as "listening addr=..."), DATA_DIR (default: xgen-workflow under
// the user cache dir), MAX_CONCURRENT_WORKFLOWS (10), MAX_QUEUED_WORKFLOWS
// (100), EMBEDDING_URL (http://127.0.0.1:8002), WEBHOOK_SECRET (optional),
// SHUTDOWN_GRACE (3s), LOG_LEVEL (info; debug logs every /health probe and
// node).
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
