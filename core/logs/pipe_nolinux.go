//go:build !linux

package logs

import (
	"io"
	"os"
)

// Pipe makes the pipe for one of a sidecar's streams: w is the child's end
// (pass it to exec.Cmd and close it after the start), r is what Capture
// reads and what the supervisor closes. Outside Linux it is os.Pipe (see
// pipe_linux.go for why Linux differs).
func Pipe() (r io.ReadCloser, w *os.File, err error) {
	return os.Pipe()
}
