package ui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"outrigger/core/logs"
)

// ownLogName is the Logs tab's entry for Outrigger's own log.
const ownLogName = "Outrigger (this app)"

// ownLogFile is the JSON log main.go writes next to the sidecars' logs.
const ownLogFile = "outrigger.log"

// Own-log tail tuning: how much of the file is shown at first, and how
// often it is looked at while someone reads it (never otherwise).
const (
	ownLogBacklog = 256 << 10
	ownLogPoll    = time.Second
)

// fileTail copies new lines of Outrigger's own JSON log into a ring while
// the Logs tab shows it.
type fileTail struct {
	path string
	ring *logs.Ring

	mu      sync.Mutex // one run at a time (a quick tab switch may overlap two)
	off     int64
	partial []byte
	started bool
	skip    bool        // the next bytes up to a newline end a record begun before off
	file    os.FileInfo // the file off is in: path names another once it rotates
}

// run reads what is new now, then every ownLogPoll until stop or done.
func (t *fileTail) run(stop, done <-chan struct{}) {
	tick := time.NewTicker(ownLogPoll)
	defer tick.Stop()
	for {
		t.read()
		select {
		case <-tick.C:
		case <-stop:
			return
		case <-done:
			return
		}
	}
}

// read shows what was written since the last read. The file is opened
// only while it is read, never held: on Windows a held file could not be
// renamed by its rotation.
func (t *fileTail) read() {
	t.mu.Lock()
	defer t.mu.Unlock()
	f, err := os.Open(t.path)
	if err != nil {
		return // not written yet
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return
	}
	if !t.started {
		t.started = true
		t.off = max(0, st.Size()-ownLogBacklog)
		if t.off > 0 {
			// Started inside the file: up to the first newline from the
			// byte before is the end of a record cut in two (or just
			// that newline), not a line to show.
			t.off--
			t.skip = true
		}
	}
	if t.file != nil && !os.SameFile(t.file, st) {
		// Rotated: the records written since the last read, before the
		// rotation, are at the end of the newest backup. Then the new
		// file from its start.
		t.readRotated()
		t.off, t.partial, t.skip = 0, nil, false
	}
	t.file = st
	if st.Size() < t.off { // truncated: start over
		t.off, t.partial, t.skip = 0, nil, false
	}
	t.readFrom(f, st.Size())
}

// readRotated reads the rest of the file read last, now a backup, if it is
// still there (an app writing faster than a poll may rotate it away).
func (t *fileTail) readRotated() {
	backups := logs.Backups(t.path)
	for i := len(backups) - 1; i >= 0; i-- {
		f, err := os.Open(backups[i])
		if err != nil {
			continue
		}
		st, err := f.Stat()
		if err == nil && os.SameFile(t.file, st) {
			t.readFrom(f, st.Size())
			f.Close()
			return
		}
		f.Close()
	}
}

// readFrom appends the whole records of f from t.off up to size to the ring.
func (t *fileTail) readFrom(f *os.File, size int64) {
	if size <= t.off {
		return
	}
	if _, err := f.Seek(t.off, io.SeekStart); err != nil {
		return
	}
	b, err := io.ReadAll(io.LimitReader(f, size-t.off))
	if err != nil {
		return
	}
	t.off += int64(len(b))
	if t.skip {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return // still inside the cut record
		}
		b, t.skip = b[i+1:], false
	}
	b = append(t.partial, b...)
	last := bytes.LastIndexByte(b, '\n')
	if last < 0 {
		t.partial = b
		return
	}
	t.partial = append([]byte(nil), b[last+1:]...)
	for _, raw := range bytes.Split(b[:last], []byte{'\n'}) {
		if len(raw) > 0 {
			t.ring.Append(parseOwnLine(raw))
		}
	}
}

// parseOwnLine turns one slog JSON record into a viewer line:
// "INFO msg key=value …"; warnings and errors count as stderr.
func parseOwnLine(raw []byte) logs.Line {
	var rec map[string]any
	if err := json.Unmarshal(raw, &rec); err != nil {
		return logs.Line{Time: time.Now(), Stream: logs.Stdout, Text: string(raw)}
	}
	at := time.Now()
	if s, ok := rec["time"].(string); ok {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			at = t
		}
	}
	level, _ := rec["level"].(string)
	msg, _ := rec["msg"].(string)
	delete(rec, "time")
	delete(rec, "level")
	delete(rec, "msg")
	keys := make([]string, 0, len(rec))
	for k := range rec {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(level)
	b.WriteByte(' ')
	b.WriteString(msg)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%v", k, rec[k])
	}
	stream := logs.Stdout
	if level == "WARN" || level == "ERROR" {
		stream = logs.Stderr
	}
	return logs.Line{Time: at, Stream: stream, Text: b.String()}
}
