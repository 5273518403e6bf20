package logs

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A Pipe's read end, between two waits, is watched by no epoll set with
// EPOLLIN asked: lines written then wake no one (the runtime's poller, where
// os.Pipe puts it, is woken by every write). Data written before a wait is
// still seen at once, the end of the writers is seen, and Close ends a wait.
func TestPipeUnwatchedBetweenWaits(t *testing.T) {
	r, w, err := Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	p := r.(readWaiter)
	ino := inode(t, r.(*epollPipe).f)

	buf := make([]byte, 64)
	mustWrite(t, w, "a\n")
	if err := p.waitReadable(); err != nil {
		t.Fatal(err)
	}
	if n, err := r.Read(buf); err != nil || string(buf[:n]) != "a\n" {
		t.Fatalf("Read = %q, %v", buf[:n], err)
	}
	// Written while its reader is elsewhere (a paced Capture waiting for
	// its tick): nobody watches for it.
	mustWrite(t, w, "b\n")
	if watchers := epollWatchers(t, ino); len(watchers) != 0 {
		t.Fatalf("between waits the pipe is watched for input by %v", watchers)
	}
	if err := p.waitReadable(); err != nil { // what came before the wait counts
		t.Fatal(err)
	}
	if n, err := r.Read(buf); err != nil || string(buf[:n]) != "b\n" {
		t.Fatalf("Read = %q, %v", buf[:n], err)
	}
	if _, err := r.Read(buf); err != errWouldBlock {
		t.Fatalf("Read of an empty pipe = %v, want errWouldBlock", err)
	}

	// A wait on an empty pipe ends when the writers are gone: EOF.
	waited := make(chan error, 1)
	go func() { waited <- p.waitReadable() }()
	w.Close()
	select {
	case err := <-waited:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the wait did not end when the writer closed")
	}
	if _, err := r.Read(buf); err != io.EOF {
		t.Fatalf("Read after the writers closed = %v, want EOF", err)
	}

	// Closed by force (the supervisor, when a grandchild holds the pipe):
	// a wait under way ends with an error.
	r2, w2, err := Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	go func() { waited <- r2.(readWaiter).waitReadable() }()
	r2.Close()
	select {
	case err := <-waited:
		if err == nil {
			t.Fatal("a wait on a closed pipe returned no error")
		}
	case <-time.After(time.Minute):
		t.Fatal("Close did not end the wait")
	}
}

// The same check on os.Pipe finds the runtime's poller watching it: what
// the test above would report without Pipe's epoll set.
func TestOSPipeWatchedByRuntime(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if watchers := epollWatchers(t, inode(t, r)); len(watchers) == 0 {
		t.Fatal("os.Pipe's read end is in no epoll set: the check cannot see a watcher")
	}
}

func mustWrite(t *testing.T, w io.Writer, s string) {
	t.Helper()
	if _, err := io.WriteString(w, s); err != nil {
		t.Fatal(err)
	}
}

func inode(t *testing.T, f *os.File) uint64 {
	t.Helper()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return st.Sys().(*syscall.Stat_t).Ino
}

// epollWatchers lists this process's epoll sets that watch the file with
// inode ino for input ("fd N: events 0x…", from /proc/self/fdinfo): an
// item whose one shot has fired keeps only private bits in its mask.
func epollWatchers(t *testing.T, ino uint64) []string {
	t.Helper()
	infos, err := filepath.Glob("/proc/self/fdinfo/*")
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, p := range infos {
		f, err := os.Open(p)
		if err != nil {
			continue // closed meanwhile
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			// tfd:        5 events:       19 data: ... pos:0 ino:2c0e sdev:d
			fields := strings.Fields(sc.Text())
			if len(fields) < 4 || fields[0] != "tfd:" || fields[2] != "events:" {
				continue
			}
			events, err1 := strconv.ParseUint(fields[3], 16, 32)
			var target uint64
			var err2 error = errors.New("no ino")
			for _, fl := range fields {
				if v, ok := strings.CutPrefix(fl, "ino:"); ok {
					target, err2 = strconv.ParseUint(v, 16, 64)
				}
			}
			if err2 != nil {
				t.Skipf("%s: this kernel's epoll fdinfo names no inode (%q): cannot tell what a set watches", p, sc.Text())
			}
			if err1 != nil {
				t.Fatalf("%s: cannot read %q", p, sc.Text())
			}
			if target == ino && events&unix.EPOLLIN != 0 {
				found = append(found, fmt.Sprintf("fd %s: events %#x", filepath.Base(p), events))
			}
		}
		f.Close()
	}
	return found
}
