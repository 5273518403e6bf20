package logs

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestPacedPipeCaptureLosesNothing: a pipe written in bursts of every size,
// with pauses that leave it empty between them, read by a paced Capture and
// then an unpaced one: every line reaches the ring and the file, in order,
// and the Capture ends at EOF (a pipe whose next data was never announced
// would leave it waiting for ever). Both pipes: os.Pipe's, in the runtime's
// poller, and Pipe's (on Linux, one-shot in an epoll set of its own).
func TestPacedPipeCaptureLosesNothing(t *testing.T) {
	osPipe := func() (io.ReadCloser, *os.File, error) { return os.Pipe() }
	for _, pipe := range []struct {
		name string
		make func() (io.ReadCloser, *os.File, error)
	}{{"os.Pipe", osPipe}, {"Pipe", Pipe}} {
		for _, paced := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/paced=%v", pipe.name, paced), func(t *testing.T) { pacedCapture(t, pipe.make, paced) })
		}
	}
}

func pacedCapture(t *testing.T, pipe func() (io.ReadCloser, *os.File, error), paced bool) {
	ring := NewRing(100000)
	s, err := OpenSidecarLog(t.TempDir(), "burst", ring, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Pace(paced)
	r, w, err := pipe()
	if err != nil {
		t.Fatal(err)
	}
	const n = 3000
	go func() {
		defer w.Close()
		var b strings.Builder
		for i := 1; i <= n; i++ {
			fmt.Fprintf(&b, "line %d %s\n", i, strings.Repeat("x", i%300))
			if i%(1+i%37) == 0 { // bursts of 1 to 37 lines, some of them split
				data := b.String()
				cut := len(data) / 2
				_, _ = w.WriteString(data[:cut])
				runtime.Gosched()
				_, _ = w.WriteString(data[cut:])
				b.Reset()
				if i%5 == 0 {
					time.Sleep(time.Millisecond) // let the pipe run empty: the reader waits for data
				}
			}
		}
		_, _ = w.WriteString(b.String())
	}()
	done := make(chan error, 1)
	go func() { done <- s.Capture(r, Stdout, nil) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("Capture still waiting after the writer closed; %d of %d lines in the ring", ring.Len(), n)
	}
	r.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	lines := ring.Lines()
	if len(lines) != n {
		t.Fatalf("ring has %d lines, want %d", len(lines), n)
	}
	for i, l := range lines {
		if want := fmt.Sprintf("line %d ", i+1); !strings.HasPrefix(l.Text, want) {
			t.Fatalf("ring line %d = %.20q, want it to start with %q", i, l.Text, want)
		}
	}
	if got := len(readLines(t, s.Path())); got != n {
		t.Fatalf("file has %d lines, want %d", got, n)
	}
}

// A line after a quiet spell is read without a pause after it (the pause
// would be one more wake, to find the pipe empty); lines that follow each
// other closer than paceEvery are still paced.
func TestQuietLineIsNotPausedAfter(t *testing.T) {
	r, w, err := Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, ok := r.(readWaiter); !ok {
		t.Skip("this platform's Pipe blocks in Read: no quiet spells to see")
	}
	got := make(chan string, 64)
	var pauses atomic.Int32
	done := make(chan error, 1)
	go func() {
		done <- readPieces(r, func(b []byte, _ time.Time, first, last bool) { got <- string(b) },
			func() { pauses.Add(1); time.Sleep(paceEvery) })
	}()
	line := func(s string) {
		t.Helper()
		if _, err := w.WriteString(s + "\n"); err != nil {
			t.Fatal(err)
		}
		select {
		case l := <-got:
			if l != s {
				t.Fatalf("read %q, want %q", l, s)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%q was not read", s)
		}
	}
	for i := range 3 {
		line(fmt.Sprint("alone ", i))
		time.Sleep(3 * paceEvery) // the quiet spell under test
	}
	if n := pauses.Load(); n != 0 {
		t.Errorf("%d pauses after lone lines, want none", n)
	}
	for i := range 10 {
		line(fmt.Sprint("flow ", i)) // each read before the next is written: closer than paceEvery
	}
	if n := pauses.Load(); n == 0 {
		t.Error("no pause in a flow of lines")
	}
	w.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	r.Close()
}
