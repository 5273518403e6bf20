//go:build (linux && !wayland) || (freebsd && !wayland) || (netbsd && !wayland) || (openbsd && !wayland)

package uithread

// #include <X11/Xlib.h>
// static int connectionFd(void *d) { return ConnectionNumber((Display *)d); }
import "C"

import (
	"time"
	"unsafe"

	"github.com/go-gl/glfw/v3.3/glfw"
	"golang.org/x/sys/unix"
)

// canPark: the tray is D-Bus (fyne.io/systray) and the window X11, so
// nothing the tray does needs the loop's thread (see park.go).
const canPark = true

// xSleeper parks the loop in poll(2) on the X connection and a wake pipe.
type xSleeper struct {
	r, w int // the wake pipe, non-blocking
	xfd  int // the X connection, -1 until the first sleep
}

func newSleeper() sleeper {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		return nil // no parking: the loop runs as Fyne runs it
	}
	return &xSleeper{r: p[0], w: p[1], xfd: -1}
}

func (s *xSleeper) wake() {
	_, _ = unix.Write(s.w, []byte{0}) // a full pipe already wakes
}

// sleep runs on the loop's thread, which owns the X connection: GLFW
// (glfwGetX11Display) opened it there, and only that thread reads it.
func (s *xSleeper) sleep(upTo time.Duration, stay func() bool) bool {
	if s.xfd < 0 {
		s.xfd = int(C.connectionFd(unsafe.Pointer(glfw.GetX11Display())))
	}
	deadline := time.Now().Add(upTo)
	for {
		// Handle what arrived since the loop last looked (or what just
		// woke us), as the loop's tick would; Xlib may also hold events
		// it already read, which poll(2) would not show.
		glfw.PollEvents()
		if !stay() {
			return true
		}
		left := time.Until(deadline)
		if left <= 0 {
			return true
		}
		fds := []unix.PollFd{{Fd: int32(s.xfd), Events: unix.POLLIN}, {Fd: int32(s.r), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, int(left.Milliseconds())+1)
		if err == unix.EINTR {
			continue
		}
		if err != nil || fds[0].Revents&(unix.POLLERR|unix.POLLHUP|unix.POLLNVAL) != 0 {
			return false
		}
		if fds[1].Revents != 0 {
			var buf [64]byte
			for {
				if n, _ := unix.Read(s.r, buf[:]); n < len(buf) {
					break
				}
			}
			return true
		}
		if n == 0 {
			return true // parkMax
		}
		// The X connection is readable: PollEvents above reads it.
	}
}
