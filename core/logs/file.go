package logs

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

const (
	// flushDelay bounds how long written data may sit in memory before it
	// reaches the file: a kill -9 of the app loses at most the lines of the
	// last flushDelay (README, "Logging"). The end of a run does not wait
	// for it: the supervisor calls Flush before it announces the exit.
	flushDelay = 250 * time.Millisecond
	// flushSize is how much is gathered before a write during a flood; big
	// enough that syscalls are rare, small enough to be a trifle of memory.
	flushSize = 64 << 10
)

// flushWriter buffers writes to a file (a lumberjack.Logger) and is safe for
// concurrent use: a sidecar's stdout and stderr share one.
//
// It writes through when it has been idle, so a quiet log is on disk at once,
// and gathers writes for up to flushDelay when busy, so a flood costs one
// syscall per flushSize bytes instead of one per line. A timer (not a
// goroutine) does the delayed flush, armed only while something is
// gathered: nothing runs while the log is quiet (not even once after a
// lone line), and no flush depends on more output arriving.
//
// Every write to w holds whole records, so lumberjack rotates between lines,
// never inside one.
type flushWriter struct {
	mu     sync.Mutex
	w      io.WriteCloser
	buf    []byte
	armed  bool      // timer pending: something is gathered
	gather time.Time // we wrote recently: until then, records are gathered
	closed bool
	timer  *time.Timer
	err    error // first write error, reported by Close

	// A write that fails (the disk is full) drops its data and the
	// sidecar carries on; failing remembers the spell so that onFail is
	// called once when it begins and onResume once when a write works
	// again. Both run under mu: they must not write to this flushWriter.
	failing  bool
	onFail   func(error)
	onResume func()

	// For sidecar lines: the formatted time of the last line, reused while
	// lines carry the same Time (Capture stamps a whole read at once).
	stampTime time.Time
	stamp     []byte
	part      [2]partLine // per stream: a long line being gathered (feed.go)
}

func newFlushWriter(w io.WriteCloser) *flushWriter {
	f := &flushWriter{w: w} // buf grows with use: a quiet log holds little
	f.timer = time.AfterFunc(time.Hour, f.onTimer)
	f.timer.Stop()
	return f
}

// Write buffers p, a whole record (slog handlers write one record per call).
// Write errors surface at Close; a failed write drops its data rather than
// letting memory grow.
func (f *flushWriter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return 0, os.ErrClosed
	}
	if len(f.buf)+len(p) > flushSize {
		f.flushLocked()
	}
	f.buf = append(f.buf, p...)
	f.committedLocked()
	return len(p), nil
}

// lineTimeFormat is fixed-width so the file lines up in a pager.
const lineTimeFormat = "2006-01-02T15:04:05.000Z07:00"

// writeLine appends "<time> <stream> <text>\n" for a sidecar line; lines
// after Close are dropped.
func (f *flushWriter) writeLine(l Line) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	if !l.Time.Equal(f.stampTime) || f.stamp == nil {
		f.stampTime = l.Time
		f.stamp = l.Time.AppendFormat(f.stamp[:0], lineTimeFormat)
	}
	if len(f.buf)+len(f.stamp)+len(l.Text)+9 > flushSize {
		f.flushLocked()
	}
	f.buf = append(f.buf, f.stamp...)
	f.buf = append(f.buf, ' ')
	f.buf = append(f.buf, l.Stream.String()...)
	f.buf = append(f.buf, ' ')
	f.buf = append(f.buf, l.Text...)
	f.buf = append(f.buf, '\n')
	f.committedLocked()
}

// committedLocked decides, after a record was buffered, whether to write now.
func (f *flushWriter) committedLocked() {
	if len(f.buf) >= flushSize {
		f.flushLocked()
		return
	}
	now := time.Now()
	if now.Before(f.gather) { // busy: gather until the timer says so
		if !f.armed {
			f.armed = true
			f.timer.Reset(f.gather.Sub(now))
		}
		return
	}
	f.flushLocked()
	f.gather = nextFlush(now)
}

// nextFlush is the end of now's gathering window: on a multiple of
// flushDelay, so the flushes of every busy log of the app come at one wake
// (and at most flushDelay from now).
func nextFlush(now time.Time) time.Time { return now.Truncate(flushDelay).Add(flushDelay) }

func (f *flushWriter) onTimer() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.armed = false
	if !f.closed {
		f.flushLocked()
		f.gather = nextFlush(time.Now()) // a flood goes on being gathered
	}
}

func (f *flushWriter) flushLocked() {
	if len(f.buf) == 0 {
		return
	}
	f.noteLocked(f.w.Write(f.buf))
	if cap(f.buf) > 4*flushSize { // a huge record passed by: give the memory back
		f.buf = make([]byte, 0, flushSize+4096)
	} else {
		f.buf = f.buf[:0]
	}
}

// Flush writes what is buffered to the file now (a write(2): in the page
// cache, so it survives the app being killed, not a power cut). It returns
// the error of this write, if any.
func (f *flushWriter) Flush() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed || len(f.buf) == 0 {
		return nil
	}
	_, err := f.w.Write(f.buf)
	f.noteLocked(0, err)
	f.buf = f.buf[:0]
	return err
}

// noteLocked records the outcome of a write to the file.
func (f *flushWriter) noteLocked(_ int, err error) {
	switch {
	case err != nil:
		if f.err == nil {
			f.err = err
		}
		if !f.failing {
			f.failing = true
			if f.onFail != nil {
				f.onFail(err)
			}
		}
	case f.failing:
		f.failing = false
		if f.onResume != nil {
			f.onResume()
		}
	}
}

// Close writes what is buffered and closes the file. It returns the first
// write error seen since the start, if any. Later writes are dropped.
func (f *flushWriter) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	f.closed = true
	f.timer.Stop()
	f.flushLocked()
	return errors.Join(f.err, f.w.Close())
}

// prepareFile creates path's folder and the file itself, so that a bad path
// fails now, at open, instead of at the first write deep in a sink.
// lumberjack then appends to it. Logs may hold secrets a sidecar prints, so
// both are private to the user.
func prepareFile(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	return f.Close()
}
