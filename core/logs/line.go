package logs

import (
	"strconv"
	"time"
)

// Stream names the origin of a line.
type Stream uint8

const (
	Stdout Stream = iota // the zero value, so a bare Line is stdout
	Stderr
)

// String returns "stdout" or "stderr"; it is also the value of the slog
// attribute "stream" and the second column of a sidecar's log file.
func (s Stream) String() string {
	switch s {
	case Stdout:
		return "stdout"
	case Stderr:
		return "stderr"
	}
	return "stream(" + strconv.Itoa(int(s)) + ")"
}

// Line is one line of a sidecar's output. It is a value: copies are cheap
// (Text shares its bytes) and nobody mutates a Line once it is stored.
type Line struct {
	Seq    uint64 // assigned by Ring.Append: 1, 2, 3, ... per Ring
	Time   time.Time
	Stream Stream
	// Text is always valid UTF-8: bytes that are not are written as \xNN
	// (a literal backslash is not escaped, so this is for reading, not for
	// recovering the exact bytes). It never ends with '\n', nor with the
	// '\r' of a CRLF pair.
	Text string
}
