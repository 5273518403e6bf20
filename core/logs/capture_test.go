package logs

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// chunkReader returns its data in reads of random sizes in [1, max], so that
// line ends, CRLF pairs and characters fall on read boundaries.
type chunkReader struct {
	data []byte
	max  int
	rng  *rand.Rand
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := min(1+c.rng.IntN(c.max), len(p), len(c.data))
	n = copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

// capture runs Capture on input, whole and in small chunks, checks that both
// agree and returns the texts.
func capture(t *testing.T, input string) []string {
	t.Helper()
	run := func(r io.Reader) []string {
		var got []string
		if err := Capture(r, Stderr, func(l Line) {
			if l.Stream != Stderr || l.Time.IsZero() || l.Seq != 0 {
				t.Errorf("line %q: stream %v time %v seq %d", l.Text, l.Stream, l.Time, l.Seq)
			}
			if !utf8.ValidString(l.Text) {
				t.Errorf("invalid UTF-8 in %q", l.Text)
			}
			got = append(got, l.Text)
		}); err != nil {
			t.Fatalf("Capture: %v", err)
		}
		return got
	}
	whole := run(strings.NewReader(input))
	maxChunk := 7
	if len(input) > 1000 {
		maxChunk = 20000
	}
	chunked := run(&chunkReader{data: []byte(input), max: maxChunk, rng: rand.New(rand.NewPCG(1, 2))})
	if !equal(whole, chunked) {
		t.Fatalf("whole and chunked reads disagree:\n%q\n%q", short(whole), short(chunked))
	}
	return whole
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func short(s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		if len(x) > 40 {
			x = x[:20] + "…" + x[len(x)-20:]
		}
		out[i] = x
	}
	return out
}

func TestCaptureBasics(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"empty", "", nil},
		{"one", "a\n", []string{"a"}},
		{"final line without newline", "a\nbc", []string{"a", "bc"}},
		{"empty lines kept", "\n\na\n\n", []string{"", "", "a", ""}},
		{"crlf", "a\r\nb\r\n\r\nc\rd\n", []string{"a", "b", "", "c\rd"}},
		{"lone cr at eof kept", "a\r", []string{"a\r"}},
		{"valid utf8", "héllo wörld ✓ 𝄞 \uFFFD\n", []string{"héllo wörld ✓ 𝄞 \uFFFD"}},
		{"invalid utf8 escaped", "ok\xff\xfebad\xc3\nnext \xe2\x82\n",
			[]string{`ok\xff\xfebad\xc3`, `next \xe2\x82`}},
		{"invalid at eof", "x\x80", []string{`x\x80`}},
		{"nul kept", "a\x00b\n", []string{"a\x00b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := capture(t, tc.in); !equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCaptureSplitsLongLines(t *testing.T) {
	// 1 MiB of varied ASCII: 16 lines of exactly 64 KiB, same bytes in order.
	line := make([]byte, 1<<20)
	for i := range line {
		line[i] = 'a' + byte(i%23)
	}
	for _, end := range []string{"\n", "\r\n", ""} {
		got := capture(t, string(line)+end+"tail\n")
		if len(got) != 17 || got[16] != "tail" {
			t.Fatalf("end %q: %d lines, want 16 + tail", end, len(got))
		}
		for i, s := range got[:16] {
			if len(s) != MaxLine {
				t.Fatalf("end %q: line %d has %d bytes, want %d", end, i, len(s), MaxLine)
			}
		}
		if strings.Join(got[:16], "") != string(line) {
			t.Fatalf("end %q: content changed", end)
		}
	}

	a := strings.Repeat("a", MaxLine)
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"exactly MaxLine", a + "\n", []string{a}},
		{"exactly MaxLine, CRLF", a + "\r\n", []string{a}},
		{"exactly MaxLine at EOF", a, []string{a}},
		{"MaxLine+1", a + "b\n", []string{a, "b"}},
		{"MaxLine+1, CRLF", a + "b\r\n", []string{a, "b"}},
		{"2×MaxLine", a + a + "\n", []string{a, a}},
		// A character straddling the cut moves whole to the next piece.
		{"rune kept whole", a[:MaxLine-1] + "é" + "b\n", []string{a[:MaxLine-1], "éb"}},
		{"4-byte rune kept whole", a[:MaxLine-2] + "𝄞" + "b\n", []string{a[:MaxLine-2], "𝄞b"}},
		{"rune ending at the cut", a[:MaxLine-2] + "é" + "b\n", []string{a[:MaxLine-2] + "é", "b"}},
		// An invalid byte at the cut is cut like any other byte.
		{"invalid at the cut", a[:MaxLine-1] + "\xffb\n", []string{a[:MaxLine-1] + `\xff`, "b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := capture(t, tc.in); !equal(got, tc.want) {
				t.Errorf("got %q, want %q", short(got), short(tc.want))
			}
		})
	}
}

// errReader yields its data, then err.
type errReader struct {
	data []byte
	err  error
}

func (e *errReader) Read(p []byte) (int, error) {
	if len(e.data) == 0 {
		return 0, e.err
	}
	n := copy(p, e.data)
	e.data = e.data[n:]
	return n, nil
}

func TestCaptureReadError(t *testing.T) {
	boom := errors.New("boom")
	var got []string
	err := Capture(&errReader{data: []byte("a\nb"), err: boom}, Stdout, func(l Line) { got = append(got, l.Text) })
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	if !equal(got, []string{"a", "b"}) {
		t.Fatalf("got %q: lines read before the error must be delivered", got)
	}
}

type zeroReader struct{}

func (zeroReader) Read([]byte) (int, error) { return 0, nil }

func TestCaptureNoProgress(t *testing.T) {
	if err := Capture(zeroReader{}, Stdout, func(Line) {}); !errors.Is(err, io.ErrNoProgress) {
		t.Fatalf("err = %v", err)
	}
}

func TestCaptureTimeIsReadTime(t *testing.T) {
	before := time.Now()
	var got []Line
	Capture(strings.NewReader("a\nb\n"), Stdout, func(l Line) { got = append(got, l) })
	if len(got) != 2 || got[0].Time.Before(before) || got[0].Time.After(time.Now()) || got[0].Stream != Stdout {
		t.Fatalf("got %+v", got)
	}
}

func TestAppendEscaped(t *testing.T) {
	in := []byte("a\xffé\xed\xa0\x80z") // \xed\xa0\x80 is a surrogate: invalid
	if got, want := string(appendEscaped(nil, in)), `a\xffé\xed\xa0\x80z`; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if !bytes.Equal(appendEscaped(nil, []byte("plain")), []byte("plain")) {
		t.Fatal("plain changed")
	}
}

// lineSource produces n copies of line without holding them in memory.
type lineSource struct {
	line []byte
	left int // bytes still to produce
	off  int
}

func (s *lineSource) Read(p []byte) (int, error) {
	if s.left == 0 {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && s.left > 0 {
		k := copy(p[n:min(len(p), n+s.left)], s.line[s.off:])
		n += k
		s.left -= k
		s.off = (s.off + k) % len(s.line)
	}
	return n, nil
}

// TestCaptureMemoryBounded: what stays in memory after a flood is the ring's
// worth of lines, not the volume.
func TestCaptureMemoryBounded(t *testing.T) {
	const volume = 64 << 20
	s, err := OpenSidecarLog(t.TempDir(), "flood", NewRing(1000), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	line := []byte(strings.Repeat("y", 199) + "\n")
	var base, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&base)
	var wg sync.WaitGroup
	for _, st := range []Stream{Stdout, Stderr} {
		wg.Go(func() {
			if err := Capture(&lineSource{line: line, left: volume / 2}, st, s.Sink(st)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grown := int64(after.HeapAlloc) - int64(base.HeapAlloc); grown > 8<<20 {
		t.Fatalf("heap grew by %d bytes after %d bytes of output", grown, volume)
	}
}
