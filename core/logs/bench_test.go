package logs

import (
	"bytes"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// BenchmarkCapture measures the whole path of one sidecar stream: Capture
// splitting 100-byte lines, then the Ring, the file (in a temp folder, with
// real rotation) and slog. MB/s is input bytes.
func BenchmarkCapture(b *testing.B) {
	line := strings.Repeat("0123456789", 10)[:99] + "\n" // 100 bytes
	data := []byte(strings.Repeat(line, (1<<20)/len(line)))
	tintLogger, _, _ := NewLogger(io.Discard, "", slog.LevelInfo)
	appLogger, appCloser, err := NewLogger(io.Discard, filepath.Join(b.TempDir(), "app.log"), slog.LevelInfo)
	if err != nil {
		b.Fatal(err)
	}
	defer appCloser.Close()
	for _, bc := range []struct {
		name   string
		logger *slog.Logger
	}{
		// The brief's case: every line formatted by the app's console handler.
		{"slog=tint-info", tintLogger},
		// The whole app logger at Info: every line formatted twice, once for
		// the console and once more for the app's JSON file.
		{"slog=app-info", appLogger},
		{"slog=json-info", slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))},
		// The documented flood setting: stdout lines filtered by level.
		{"slog=filtered", slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))},
		{"slog=none", nil},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s, err := OpenSidecarLog(b.TempDir(), "bench", NewRing(DefaultCapacity), bc.logger)
			if err != nil {
				b.Fatal(err)
			}
			sink := s.Sink(Stdout)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			start := time.Now()
			for b.Loop() {
				if err := Capture(bytes.NewReader(data), Stdout, sink); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(data)/len(line))/time.Since(start).Seconds(), "lines/s")
			if err := s.Close(); err != nil {
				b.Fatal(err)
			}
		})
	}
}

func BenchmarkRingAppend(b *testing.B) {
	r := NewRing(DefaultCapacity)
	l := Line{Time: time.Now(), Text: strings.Repeat("x", 99)}
	b.ReportAllocs()
	for b.Loop() {
		r.Append(l)
	}
}

// BenchmarkSidecarCapture is the path the supervisor uses
// (SidecarLog.Capture): 100-byte lines into the ring and the rotated file,
// no console. allocs/op divided by the lines per op is the per-line cost:
// one allocation, the ring's copy of the text.
func BenchmarkSidecarCapture(b *testing.B) {
	line := strings.Repeat("0123456789", 10)[:99] + "\n" // 100 bytes
	data := []byte(strings.Repeat(line, (1<<20)/len(line)))
	s, err := OpenSidecarLog(b.TempDir(), "bench", NewRing(DefaultCapacity), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		if err := s.Capture(bytes.NewReader(data), Stdout, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(data)/len(line))/time.Since(start).Seconds(), "lines/s")
	b.ReportMetric(float64(len(data)/len(line)), "lines/op")
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
}
