package logs

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
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
