package logs

import (
	"fmt"
	"io"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// Pipe makes the pipe for one of a sidecar's streams: w is the child's end
// (pass it to exec.Cmd and close it after the start), r is what Capture
// reads and what the supervisor closes.
//
// On Linux the read end is kept out of the runtime's poller. The poller
// watches a pipe for every write once it was ever polled (a pipe that has
// been polled wakes its watchers on each write, not only when it turns
// non-empty), so a paced sidecar (SidecarLog.Pace) woke the app once per
// line it printed, although nobody read until the next tick: 50 sidecars
// printing 20 lines a second were about a thousand wakes a second, most of
// the app's CPU while they log. Here each read end has an epoll set of its
// own, holding only it, one-shot: it is armed only while its Capture waits
// for data (waitReadable) and disarmed by the first arrival. The runtime's
// poller watches that epoll set, which is ready only while armed. A paced
// Capture that finds data at every tick never arms it: its writes wake no
// one.
func Pipe() (r io.ReadCloser, w *os.File, err error) {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
		return nil, nil, fmt.Errorf("pipe: %w", err)
	}
	// The read end is made non-blocking only after os.NewFile saw it
	// blocking: os.NewFile puts a non-blocking descriptor in the poller.
	rf := os.NewFile(uintptr(fds[0]), "|0")
	w = os.NewFile(uintptr(fds[1]), "|1")
	p := &epollPipe{f: rf}
	fail := func(what string, err error) (io.ReadCloser, *os.File, error) {
		rf.Close()
		w.Close()
		if p.ep != nil {
			p.ep.Close()
		}
		return nil, nil, fmt.Errorf("pipe: %s: %w", what, err)
	}
	if err := unix.SetNonblock(fds[0], true); err != nil {
		return fail("non-blocking", err)
	}
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return fail("epoll_create1", err)
	}
	// Non-blocking before os.NewFile, so that this one is in the poller.
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		return fail("non-blocking epoll", err)
	}
	p.ep = os.NewFile(uintptr(epfd), "epoll")
	// Added disarmed for input: one-shot with no event asked for reports
	// no data until waitReadable arms it. epoll_ctl always adds EPOLLHUP
	// and EPOLLERR, so the writers' end is queued even so (once: one wake
	// at the child's exit, taken by the next waitReadable).
	ev := unix.EpollEvent{Events: unix.EPOLLONESHOT, Fd: int32(fds[0])}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, fds[0], &ev); err != nil {
		return fail("epoll_ctl", err)
	}
	if p.pipeReader.rc, err = rf.SyscallConn(); err != nil {
		return fail("read end", err)
	}
	if p.erc, err = p.ep.SyscallConn(); err != nil {
		return fail("epoll", err)
	}
	return p, w, nil
}

// epollPipe is the read end of a Pipe: Read (pipeReader's) never parks
// (an empty pipe answers errWouldBlock); waitReadable arms the one-shot
// epoll set and parks in the runtime's poller until it fires. Close closes
// both, which ends a waitReadable under way.
type epollPipe struct {
	pipeReader          // Read, through the read end's RawConn
	f          *os.File // the pipe's read end; its fd is used only through rc
	ep         *os.File // the epoll set holding only f, in the runtime's poller
	erc        syscall.RawConn
	evs        [1]unix.EpollEvent
}

func (p *epollPipe) waitReadable() error {
	if err := p.arm(); err != nil {
		return err
	}
	// The set is ready once the pipe has data or its writers are gone (a
	// hang-up). Data that came before the arming is reported at once:
	// arming looks at the pipe's level, not at an edge.
	return p.erc.Read(func(epfd uintptr) bool {
		for {
			n, err := unix.EpollWait(int(epfd), p.evs[:], 0)
			if err == unix.EINTR {
				continue
			}
			return err != nil || n > 0 // fired (and so disarmed again), or cannot tell: read
		}
	})
}

// arm asks the epoll set for the pipe's next readiness, once.
func (p *epollPipe) arm() error {
	var ctlErr error
	err := p.rc.Control(func(fd uintptr) {
		err := p.erc.Control(func(epfd uintptr) {
			ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLONESHOT, Fd: int32(fd)}
			ctlErr = unix.EpollCtl(int(epfd), unix.EPOLL_CTL_MOD, int(fd), &ev)
		})
		if ctlErr == nil {
			ctlErr = err
		}
	})
	switch {
	case err != nil: // closed under us
		return err
	case ctlErr != nil:
		return fmt.Errorf("pipe: arm epoll: %w", ctlErr)
	}
	return nil
}

// Close closes the read end and its epoll set; a Capture waiting on the
// set wakes with an error.
func (p *epollPipe) Close() error {
	err := p.f.Close()
	if e := p.ep.Close(); err == nil {
		err = e
	}
	return err
}
