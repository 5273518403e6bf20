//go:build !unix

package logs

import "io"

// readerFor returns r: outside Unix a pipe is not in the poller, and a
// Capture blocks in Read with its buffer.
func readerFor(r io.Reader) io.Reader { return r }
