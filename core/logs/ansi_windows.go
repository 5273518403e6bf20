package logs

import "golang.org/x/sys/windows"

// enableANSI turns on escape-sequence processing for a Windows console, which
// the classic console host leaves off; without it colours print as garbage.
func enableANSI(fd uintptr) bool {
	h := windows.Handle(fd)
	var mode uint32
	if err := windows.GetConsoleMode(h, &mode); err != nil {
		return true // a Cygwin/MSYS pty: it understands ANSI itself
	}
	if mode&windows.ENABLE_VIRTUAL_TERMINAL_PROCESSING != 0 {
		return true
	}
	return windows.SetConsoleMode(h, mode|windows.ENABLE_VIRTUAL_TERMINAL_PROCESSING) == nil
}
