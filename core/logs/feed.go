package logs

import (
	"context"
	"io"
	"log/slog"
	"time"
	"unicode/utf8"
)

// Capture reads r (one of the sidecar's streams) until EOF or a read error
// and sends every line, formatted once per sink, to the ring, the file and,
// when OpenSidecarLog was given a logger, the console:
//
//   - the ring gets the line's first MaxRingLine bytes (TruncatedMark marks a
//     cut), so a sidecar printing megabyte lines keeps a ring of a few MiB;
//   - the file gets the line whole, however long: Capture's pieces of
//     MaxLine are written one after the other, with one '\n' at the end;
//   - the logger gets what the ring got, at Info for stdout and Warn for
//     stderr.
//
// Per line, the only allocation is the ring's copy of the text (and the
// logger's record, when one was given). onLine, if not nil, runs after each
// line reached the ring; it must be quick. Run one Capture per stream in its
// own goroutine; the return is as for the package's Capture.
func (s *SidecarLog) Capture(r io.Reader, stream Stream, onLine func()) error {
	var (
		h     slog.Handler
		level = slog.LevelWarn
		ctx   = context.Background()
	)
	if int(stream) < len(s.handler) {
		h, level = s.handler[stream], s.level[stream]
	}
	if h != nil && !h.Enabled(ctx, level) {
		h = nil // filtered: it costs nothing per line
	}
	var scratch []byte // a cut line and its mark, reused
	return readPieces(readerFor(r), func(b []byte, now time.Time, first, last bool) {
		if first {
			l := Line{Time: now, Stream: stream}
			if s.ring != nil || h != nil {
				if last && len(b) <= MaxRingLine {
					l.Text = string(b)
				} else {
					scratch = append(append(scratch[:0], b[:ringCut(b)]...), TruncatedMark...)
					l.Text = string(scratch)
				}
			}
			if s.ring != nil {
				l = s.ring.Append(l)
			}
			if h != nil {
				// The handler directly rather than Logger.LogAttrs: the Logger
				// would walk the stack for a source position, which costs more
				// than the rest of the line and would point here.
				_ = h.Handle(ctx, slog.NewRecord(l.Time, level, l.Text, 0))
			}
			s.file.writePiece(l.Time, stream, b, true, last)
			if onLine != nil {
				onLine()
			}
			return
		}
		s.file.writePiece(now, stream, b, false, last)
	}, s.pause)
}

// ringCut is where to cut b for the ring: at MaxRingLine, or before a
// character that would straddle it.
func ringCut(b []byte) int {
	if len(b) <= MaxRingLine {
		return len(b)
	}
	i := MaxRingLine
	for i > 0 && !utf8.RuneStart(b[i]) {
		i--
	}
	return i
}

// MaxFileLine is the longest line a sidecar's log file keeps whole, in
// bytes of text. A line that arrives in pieces (longer than MaxLine) is
// assembled on its own until its end, so the other stream's lines never
// land inside it; one longer than MaxFileLine is written in MaxFileLine
// parts, each a line of its own.
const MaxFileLine = 4 << 20

// writePiece writes one piece of a sidecar line: "<time> <stream> " before
// the first, '\n' after the last. A whole line (first and last) goes to the
// shared buffer at once; the pieces of a longer one are gathered per stream
// first (stdout and stderr write concurrently to one file). The
// write-through/batching decision is taken at line ends only, so a quiet
// log reaches the disk in whole lines. Pieces after Close are dropped.
func (f *flushWriter) writePiece(t time.Time, stream Stream, b []byte, first, last bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	if first {
		if !t.Equal(f.stampTime) || f.stamp == nil {
			f.stampTime = t
			f.stamp = t.AppendFormat(f.stamp[:0], lineTimeFormat)
		}
	}
	if first && last {
		if len(f.buf)+len(f.stamp)+len(b)+9 > flushSize {
			f.flushLocked()
		}
		f.buf = appendPrefix(f.buf, f.stamp, stream)
		f.buf = append(f.buf, b...)
		f.buf = append(f.buf, '\n')
		f.committedLocked()
		return
	}
	if int(stream) >= len(f.part) {
		stream = Stdout // only stdout and stderr exist; never index out of range
	}
	part := &f.part[stream]
	if first {
		part.head = append(part.head[:0], f.stamp...)
		part.text = part.text[:0]
	}
	for len(part.text)+len(b) > MaxFileLine { // a giant line: write a full part
		n := MaxFileLine - len(part.text)
		part.text = append(part.text, b[:n]...)
		b = b[n:]
		f.endPartLocked(part, stream)
	}
	part.text = append(part.text, b...)
	if last {
		f.endPartLocked(part, stream)
		if cap(part.text) > 4*flushSize { // give a long line's memory back
			part.text = nil
		}
	}
}

// partLine is a line being gathered from its pieces.
type partLine struct {
	head []byte // the formatted time of its first piece
	text []byte
}

// endPartLocked writes a gathered line (or a MaxFileLine part of one) to
// the shared buffer as one line.
func (f *flushWriter) endPartLocked(part *partLine, stream Stream) {
	f.flushLocked() // keep the order of what came before; the line may be big
	f.buf = appendPrefix(f.buf, part.head, stream)
	f.buf = append(f.buf, part.text...)
	f.buf = append(f.buf, '\n')
	part.text = part.text[:0]
	f.committedLocked()
}

func appendPrefix(buf, stamp []byte, stream Stream) []byte {
	buf = append(buf, stamp...)
	buf = append(buf, ' ')
	buf = append(buf, stream.String()...)
	return append(buf, ' ')
}
