package logs

import (
	"bytes"
	"io"
	"time"
	"unicode/utf8"
)

// MaxLine is the longest Text Capture emits, in bytes of input. A longer line
// is cut into pieces of MaxLine bytes (a few less where a cut would split a
// valid UTF-8 character), so one runaway line cannot hold unbounded memory.
const MaxLine = 64 << 10

// Sink receives each line Capture reads. It runs on Capture's goroutine, so
// it must be quick and must not wait on anything slow (a UI, the network):
// while it runs nobody reads the child's pipe, and a full pipe stalls the
// child.
type Sink func(Line)

// bufSize holds one pending partial line (at most MaxLine+utf8.UTFMax-1
// bytes) plus room to read nearly MaxLine more. It is the most a capture
// buffer grows to: it starts at minBuf, doubles while reads fill it (a
// flood), and goes back to minBuf once output is quiet again, so a
// sidecar's two idle streams hold 8 KiB, not 256.
const (
	bufSize = 2 * MaxLine
	minBuf  = 4 << 10
	// quietReads small reads in a row with nothing pending shrink a grown
	// buffer back to minBuf.
	quietReads = 64
)

// Capture reads r until EOF or a read error and calls sink once per line, in
// order, with Stream set to stream and Time set to when the line's last bytes
// were read. Seq is left for a Ring to assign.
//
// Lines end at '\n'; a '\r' right before it is dropped. Lines longer than
// MaxLine are split, invalid UTF-8 is escaped as \xNN (never dropped), and a
// last line without '\n' is still delivered. Empty lines are delivered too.
//
// Capture returns nil at EOF, otherwise the read error, after delivering
// everything read before it. Run it in its own goroutine per stream; it
// allocates, per line, only the Text string.
func Capture(r io.Reader, stream Stream, sink Sink) error {
	return readPieces(r, func(b []byte, now time.Time, first, last bool) {
		sink(Line{Time: now, Stream: stream, Text: string(b)})
	}, nil)
}

// pieceFunc receives a line as one or more pieces of at most MaxLine bytes
// (valid UTF-8, the \n and a \r before it removed): first marks the start
// of a line, last its end. b is only valid during the call.
type pieceFunc func(b []byte, now time.Time, first, last bool)

// readPieces is Capture's loop, handing out pieces without allocating: the
// caller decides what a piece costs (SidecarLog copies only what the ring
// keeps). pause, if not nil, runs after a read that did not fill the
// buffer, before the next (SidecarLog.Pace), so that a flow of lines is
// read once per pause. But not after a read that follows a quiet spell
// (no data for two pauses; paced reads are one apart): after a lone line
// (a server logging each health check) the pipe is most likely empty
// again, and the Capture goes back to waiting for data at once instead of
// waking once more for the pause only to find nothing.
//
// A reader that can answer errWouldBlock (readWaiter: a pipe in the
// poller) is waited for without a buffer: with nothing pending, the buffer
// goes back to bufPool, so idle streams hold none.
func readPieces(r io.Reader, out pieceFunc, pause func()) error {
	c := capturer{out: out, first: true}
	waiter, _ := r.(readWaiter)
	var buf []byte
	pooled := false     // buf came from bufPool (minBuf long)
	release := func() { // give an empty buffer back while we wait
		if pooled {
			b := buf
			bufPool.Put(&b)
		}
		buf, pooled = nil, false
	}
	defer release()
	start, end := 0, 0 // buf[start:end] is read but not yet delivered; it has no '\n'
	empty, small := 0, 0
	var lastData time.Time // when a read last got data
	for {
		if buf == nil {
			buf, pooled = *bufPool.Get().(*[]byte), true
		}
		if start > 0 { // keep the partial line at the front, so reads get the room
			end = copy(buf, buf[start:end])
			start = 0
		}
		if end == len(buf) && len(buf) < bufSize { // a long line: make room
			buf, pooled = grow(buf, end), false
		}
		n, err := r.Read(buf[end:])
		if err == errWouldBlock && waiter != nil {
			if start == end {
				release()
				start, end = 0, 0
			}
			if err = waiter.waitReadable(); err == nil {
				continue
			}
		}
		if n > 0 {
			empty = 0
			full := end+n == len(buf)
			c.now = time.Now() // one clock read per Read, not per line
			quiet := c.now.Sub(lastData) > 2*paceEvery
			lastData = c.now
			scan := end // the old bytes are known to hold no '\n'
			end += n
			for {
				i := bytes.IndexByte(buf[scan:end], '\n')
				if i < 0 {
					break
				}
				nl := scan + i
				line := buf[start:nl]
				if len(line) > 0 && line[len(line)-1] == '\r' {
					line = line[:len(line)-1]
				}
				c.deliver(line)
				start = nl + 1
				scan = start
			}
			// No '\n' in sight: hand out full pieces early so that the
			// pending part stays bounded. Keeping UTFMax bytes back means the
			// rest after a cut is never empty (nor only the '\r' of a CRLF),
			// and a character straddling the cut is always complete.
			for end-start >= MaxLine+utf8.UTFMax {
				cut := cutPoint(buf[start:end])
				c.emit(buf[start:start+cut], false)
				start += cut
			}
			switch {
			case full && len(buf) < bufSize: // a flood: read more at a time
				buf, pooled = grow(buf, end), false
				small = 0
			case len(buf) > minBuf && start == end && n < minBuf:
				if small++; small >= quietReads { // quiet again: give the memory back
					buf, pooled, start, end, small = nil, false, 0, 0, 0
				}
			default:
				small = 0
			}
			if !full && pause != nil && err == nil && !quiet {
				pause()
			}
		}
		if err != nil {
			if start < end {
				c.deliver(buf[start:end])
			}
			if err == io.EOF {
				return nil
			}
			return err
		}
		if n == 0 {
			if empty++; empty >= 100 { // as bufio does: a broken Reader must not spin forever
				return io.ErrNoProgress
			}
		}
	}
}

// grow doubles buf (up to bufSize), keeping buf[:end].
func grow(buf []byte, end int) []byte {
	nb := make([]byte, min(2*len(buf), bufSize))
	copy(nb, buf[:end])
	return nb
}

type capturer struct {
	out     pieceFunc
	now     time.Time
	first   bool   // the next piece starts a line
	scratch []byte // reused for escaping invalid UTF-8
}

// deliver emits the rest of a line, split into pieces of at most MaxLine
// bytes.
func (c *capturer) deliver(line []byte) {
	for len(line) > MaxLine {
		cut := cutPoint(line)
		c.emit(line[:cut], false)
		line = line[cut:]
	}
	c.emit(line, true)
}

// emit hands out one piece; last says the line ends with it.
func (c *capturer) emit(b []byte, last bool) {
	if !utf8.Valid(b) {
		c.scratch = appendEscaped(c.scratch[:0], b)
		b = c.scratch
	}
	c.out(b, c.now, c.first, last)
	c.first = last
}

// cutPoint returns where to cut b (len(b) > MaxLine): at MaxLine, or just
// before a valid multi-byte character that would straddle MaxLine.
func cutPoint(b []byte) int {
	for i := MaxLine - 1; i >= MaxLine-(utf8.UTFMax-1); i-- {
		if !utf8.RuneStart(b[i]) {
			continue
		}
		if b[i] >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(b[i:])
			if (r != utf8.RuneError || size > 1) && i+size > MaxLine {
				return i
			}
		}
		break
	}
	return MaxLine
}

const hexDigits = "0123456789abcdef"

// appendEscaped appends b to dst with every byte that is not part of valid
// UTF-8 written as \xNN.
func appendEscaped(dst, b []byte) []byte {
	for len(b) > 0 {
		if b[0] < utf8.RuneSelf {
			dst = append(dst, b[0])
			b = b[1:]
			continue
		}
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, '\\', 'x', hexDigits[b[0]>>4], hexDigits[b[0]&0xf])
		} else {
			dst = append(dst, b[:size]...)
		}
		b = b[size:]
	}
	return dst
}
