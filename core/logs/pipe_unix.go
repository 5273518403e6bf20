//go:build unix

package logs

import (
	"io"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// pipeReader reads a pipe without parking in Read: an empty pipe answers
// errWouldBlock, so the Capture can give its buffer back before it waits
// (waitReadable: here in the runtime's poller; a Linux Pipe has its own).
type pipeReader struct {
	rc  syscall.RawConn
	pfd [1]unix.PollFd
}

// readerFor returns r as a pipeReader when it is a pollable file.
func readerFor(r io.Reader) io.Reader {
	if _, ok := r.(readWaiter); ok {
		return r // a Pipe's read end (Linux)
	}
	f, ok := r.(*os.File)
	if !ok {
		return r
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return r
	}
	return &pipeReader{rc: rc}
}

func (p *pipeReader) Read(b []byte) (int, error) {
	var (
		n    int
		rerr error
	)
	err := p.rc.Read(func(fd uintptr) bool {
		for {
			n, rerr = syscall.Read(int(fd), b)
			if rerr != syscall.EINTR {
				return true // never park here: waitReadable does, without a buffer
			}
		}
	})
	return pipeResult(n, len(b), err, rerr)
}

// pipeResult is a raw pipe read's answer as Read gives it: err from the
// RawConn (the file closed under us), rerr and n from read(2) into a
// buffer of size bytes.
func pipeResult(n, size int, err, rerr error) (int, error) {
	switch {
	case err != nil: // closed under us (the run's readers closed by force)
		return 0, err
	case rerr == syscall.EAGAIN:
		return 0, errWouldBlock
	case rerr != nil:
		return 0, &os.PathError{Op: "read", Path: "pipe", Err: rerr}
	case n == 0 && size > 0:
		return 0, io.EOF
	}
	return n, nil
}

// waitReadable parks until the pipe has data (or its writers are gone)
// after a Read answered errWouldBlock. The poller's readiness flag is reset
// when the wait begins, so data that arrived since that Read would never be
// announced again: poll(2) looks first, and the poller is waited on only
// while the pipe is really empty (its next arrival is then announced).
func (p *pipeReader) waitReadable() error {
	return p.rc.Read(func(fd uintptr) bool {
		p.pfd[0] = unix.PollFd{Fd: int32(fd), Events: unix.POLLIN}
		for {
			n, err := unix.Poll(p.pfd[:], 0)
			if err == unix.EINTR {
				continue
			}
			return err != nil || n > 0 // readable, hung up, or cannot tell: read
		}
	})
}
