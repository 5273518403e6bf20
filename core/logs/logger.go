package logs

import (
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/lmittmann/tint"
	"github.com/mattn/go-isatty"
)

// Rotation of the app's own log file.
const (
	appMaxSizeMB  = 10
	appMaxBackups = 5
)

// NewLogger builds the app logger: tint on console (in colour only when it is
// a terminal and NO_COLOR is unset; nil for no console), plus, when filePath
// is not empty, JSON lines in filePath rotated at 10 MB (5
// backups). JSON because the console is already the human view; the file is
// for grep, jq and bug reports. Both log at level.
//
// The file is written through when the log is quiet and in batches at most
// 250 ms apart when it is busy; call the returned Closer before exiting to
// write the rest. The Closer is never nil.
func NewLogger(console io.Writer, filePath string, level slog.Level) (*slog.Logger, io.Closer, error) {
	var handlers []slog.Handler
	if console != nil {
		handlers = append(handlers, tint.NewHandler(console, &tint.Options{
			Level:      level,
			TimeFormat: "15:04:05.000",
			NoColor:    !colorOK(console),
		}))
	}
	var closer io.Closer = nopCloser{}
	if filePath != "" {
		if err := prepareFile(filePath); err != nil {
			return nil, nil, fmt.Errorf("logs: open app log: %w", err)
		}
		f := newFlushWriter(newRotatingFile(filePath, appMaxSizeMB<<20, appMaxBackups))
		handlers = append(handlers, slog.NewJSONHandler(f, &slog.HandlerOptions{Level: level}))
		closer = f
	}
	var h slog.Handler
	switch len(handlers) {
	case 0:
		h = slog.DiscardHandler
	case 1:
		h = handlers[0]
	default:
		h = slog.NewMultiHandler(handlers...)
	}
	return slog.New(h), closer, nil
}

// IsTerminal reports whether w is a terminal (a person may be reading it).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	if !ok {
		return false
	}
	fd := f.Fd()
	return isatty.IsTerminal(fd) || isatty.IsCygwinTerminal(fd)
}

// colorOK reports whether w is a terminal that shows ANSI colours.
func colorOK(w io.Writer) bool {
	if os.Getenv("NO_COLOR") != "" { // https://no-color.org
		return false
	}
	if !IsTerminal(w) {
		return false
	}
	return enableANSI(w.(interface{ Fd() uintptr }).Fd())
}

type nopCloser struct{}

func (nopCloser) Close() error { return nil }
