//go:build !((linux && !wayland) || (freebsd && !wayland) || (netbsd && !wayland) || (openbsd && !wayland))

package uithread

// canPark is false: the tray's own events run on the loop's thread here
// (a window message loop on Windows, the Cocoa run loop on macOS), or the
// window is not X11 (see park.go).
const canPark = false

func newSleeper() sleeper { return nil }
