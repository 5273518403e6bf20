package logs

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNewLogger(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "outrigger.log")
	var console bytes.Buffer
	logger, closer, err := NewLogger(&console, path, slog.LevelInfo)
	if err != nil {
		t.Fatal(err)
	}
	logger.Info("hello", "port", 8001)
	logger.Debug("hidden")
	if err := closer.Close(); err != nil {
		t.Fatal(err)
	}

	c := console.String()
	if !strings.Contains(c, "hello") || !strings.Contains(c, "port=8001") || strings.Contains(c, "hidden") {
		t.Fatalf("console: %q", c)
	}
	if strings.Contains(c, "\x1b[") {
		t.Fatalf("colour on a non-terminal: %q", c)
	}

	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 1 {
		t.Fatalf("file: %q", b)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec["msg"] != "hello" || rec["level"] != "INFO" || rec["port"] != 8001.0 {
		t.Fatalf("file record: %v", rec)
	}
}

func TestNewLoggerWithoutOutputs(t *testing.T) {
	logger, closer, err := NewLogger(nil, "", slog.LevelDebug)
	if err != nil || closer == nil {
		t.Fatal(err, closer)
	}
	logger.Info("nowhere")
	if err := closer.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestNewLoggerBadPath(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	if _, _, err := NewLogger(nil, filepath.Join(file, "x.log"), slog.LevelInfo); err == nil {
		t.Fatal("want an error for a log under a regular file")
	}
}
