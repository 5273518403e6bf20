package logs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
)

// Rotation of a sidecar's log file.
const (
	sidecarMaxSizeMB  = 10
	sidecarMaxBackups = 5
)

// SidecarLog is where one sidecar's output goes: its Ring, its rotated file
// <dir>/<name>.log and slog. Open it once per sidecar and keep it across
// restarts of the process, and Close it when the sidecar is gone for good.
type SidecarLog struct {
	path string
	ring *Ring
	file *flushWriter
	// Per stream: the slog handler with "sidecar" and "stream" already
	// attached (formatted once, not per line), and the level of its lines.
	handler [2]slog.Handler
	level   [2]slog.Level

	paceMu sync.Mutex
	hurry  chan struct{} // non-nil while paced (see Pace); closed to end it
}

// OpenSidecarLog opens (creating if needed) <dir>/<name>.log, rotated at
// 10 MB with 5 backups kept uncompressed, and returns the SidecarLog that
// feeds it, ring and logger. ring or logger may be nil to skip them.
//
// Every line goes to logger with attributes sidecar=name and stream, at Info
// for stdout and Warn for stderr. Formatting a record per line is by far the
// most expensive part of capture (on a 2-core machine, 100-byte lines: about
// 250 MB/s with no slog, 140 MB/s with tint at Info, 50 MB/s with the app
// logger of NewLogger, which formats each line twice). Where floods are
// expected, pass a logger whose level filters sidecar lines (Warn keeps only
// stderr; above Warn keeps none): a filtered line costs one Enabled call. The
// ring and the file always get every line.
func OpenSidecarLog(dir, name string, ring *Ring, logger *slog.Logger) (*SidecarLog, error) {
	return openSidecarLog(dir, name, ring, logger, sidecarMaxSizeMB)
}

func openSidecarLog(dir, name string, ring *Ring, logger *slog.Logger, maxSizeMB int) (*SidecarLog, error) {
	if dir == "" {
		return nil, errors.New("logs: no log folder given")
	}
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, `/\`) || filepath.Base(name) != name {
		return nil, fmt.Errorf("logs: %q cannot name a log file", name)
	}
	path := filepath.Join(dir, name+".log")
	if err := prepareFile(path); err != nil {
		return nil, fmt.Errorf("logs: open log of %s: %w", name, err)
	}
	s := &SidecarLog{
		path:  path,
		ring:  ring,
		file:  newFlushWriter(newRotatingFile(path, int64(maxSizeMB)<<20, sidecarMaxBackups)),
		level: [2]slog.Level{Stdout: slog.LevelInfo, Stderr: slog.LevelWarn},
	}
	if logger != nil {
		h := logger.Handler()
		for _, st := range []Stream{Stdout, Stderr} {
			s.handler[st] = h.WithAttrs([]slog.Attr{
				slog.String("sidecar", name),
				slog.String("stream", st.String()),
			})
		}
	}
	return s, nil
}

// Sink returns the Sink to pass to Capture for stream (which it stamps on
// every line). Each line is appended to the ring first, so the file and slog
// see its Seq and Time, then buffered for the file, then logged. Lines that
// arrive after Close still reach the ring and slog but not the file.
func (s *SidecarLog) Sink(stream Stream) Sink {
	var (
		h     slog.Handler
		level = slog.LevelWarn
	)
	if int(stream) < len(s.handler) {
		h, level = s.handler[stream], s.level[stream]
	}
	ctx := context.Background()
	return func(l Line) {
		l.Stream = stream
		if s.ring != nil {
			l = s.ring.Append(l)
		}
		s.file.writeLine(l)
		// The handler directly rather than Logger.LogAttrs: the Logger would
		// walk the stack for a source position, which costs more than the
		// rest of the line and would point here, not into the sidecar.
		if h != nil && h.Enabled(ctx, level) {
			_ = h.Handle(ctx, slog.NewRecord(l.Time, level, l.Text, 0))
		}
	}
}

// Flush writes the lines buffered for the file now. The supervisor calls it
// when a run has ended (its Captures returned) and before it announces the
// exit, so whoever reacts to the exit finds every line in the file.
func (s *SidecarLog) Flush() error { return s.file.Flush() }

// WarnOnFileErrors makes the file report to log once when writing to it
// starts failing (a full disk: the lines are dropped, the sidecar keeps
// running) and once when it works again.
func (s *SidecarLog) WarnOnFileErrors(log *slog.Logger) {
	s.file.mu.Lock()
	defer s.file.mu.Unlock()
	s.file.onFail = func(err error) {
		log.Warn("log file: cannot write; the sidecar keeps running and its lines still reach the window, not the file, until writing works again",
			"file", s.path, "err", err)
	}
	s.file.onResume = func() {
		log.Info("log file: writing again (lines printed meanwhile are missing from it)", "file", s.path)
	}
}

// Path returns the file the lines are written to.
func (s *SidecarLog) Path() string { return s.path }

// Close writes what is buffered and closes the file; call it after the
// Captures feeding it have returned. It returns the first write error the
// file met, if any.
func (s *SidecarLog) Close() error { return s.file.Close() }
