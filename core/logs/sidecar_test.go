package logs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"outrigger/internal/testutil"
)

// fileLine is the format of a sidecar's log file.
var fileLine = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d) (stdout|stderr) (.*)$`)

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		t.Fatalf("%s does not end with a whole line", path)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

func TestSidecarLogFansOut(t *testing.T) {
	dir := t.TempDir()
	ring := NewRing(100)
	var slogOut testutil.Buffer
	logger := slog.New(slog.NewJSONHandler(&slogOut, &slog.HandlerOptions{Level: slog.LevelInfo}))
	s, err := OpenSidecarLog(dir, "xgen-workflow", ring, logger)
	if err != nil {
		t.Fatal(err)
	}
	if s.Path() != filepath.Join(dir, "xgen-workflow.log") {
		t.Fatalf("Path = %s", s.Path())
	}
	var wg sync.WaitGroup
	wg.Go(func() { Capture(strings.NewReader("out 1\nout 2\n"), Stdout, s.Sink(Stdout)) })
	wg.Go(func() { Capture(strings.NewReader("err \xff\r\n"), Stderr, s.Sink(Stderr)) })
	wg.Wait()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Ring: all three, numbered 1..3.
	lines := ring.Lines()
	if len(lines) != 3 || lines[2].Seq != 3 {
		t.Fatalf("ring: %+v", lines)
	}
	texts := map[string]Stream{}
	for _, l := range lines {
		texts[l.Text] = l.Stream
	}
	if texts["out 1"] != Stdout || texts["out 2"] != Stdout || texts[`err \xff`] != Stderr || len(texts) != 3 {
		t.Fatalf("ring texts: %v", texts)
	}

	// File: the same three lines.
	got := map[string]string{}
	for _, fl := range readLines(t, s.Path()) {
		m := fileLine.FindStringSubmatch(fl)
		if m == nil {
			t.Fatalf("bad file line %q", fl)
		}
		got[m[3]] = m[2]
	}
	if got["out 1"] != "stdout" || got["out 2"] != "stdout" || got[`err \xff`] != "stderr" || len(got) != 3 {
		t.Fatalf("file: %v", got)
	}

	// slog: attributes and levels, time taken from the line.
	type rec struct {
		Time    time.Time `json:"time"`
		Level   string    `json:"level"`
		Msg     string    `json:"msg"`
		Sidecar string    `json:"sidecar"`
		Stream  string    `json:"stream"`
	}
	recs := map[string]rec{}
	for _, js := range strings.Split(strings.TrimSpace(slogOut.String()), "\n") {
		var r rec
		if err := json.Unmarshal([]byte(js), &r); err != nil {
			t.Fatalf("%q: %v", js, err)
		}
		recs[r.Msg] = r
	}
	if r := recs["out 1"]; r.Level != "INFO" || r.Sidecar != "xgen-workflow" || r.Stream != "stdout" {
		t.Fatalf("slog stdout record: %+v", r)
	}
	if r := recs[`err \xff`]; r.Level != "WARN" || r.Sidecar != "xgen-workflow" || r.Stream != "stderr" {
		t.Fatalf("slog stderr record: %+v", r)
	}
	for _, l := range lines {
		if !recs[l.Text].Time.Equal(l.Time) {
			t.Fatalf("slog time %v != line time %v", recs[l.Text].Time, l.Time)
		}
	}

	// After Close: no panic, ring still fed.
	s.Sink(Stdout)(Line{Text: "late"})
	if ring.Last() != 4 {
		t.Fatal("late line not in ring")
	}
}

func TestSidecarLogFilteredLogger(t *testing.T) {
	var out testutil.Buffer
	logger := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelWarn}))
	s, err := OpenSidecarLog(t.TempDir(), "a", nil, logger)
	if err != nil {
		t.Fatal(err)
	}
	Capture(strings.NewReader("quiet\n"), Stdout, s.Sink(Stdout))
	Capture(strings.NewReader("loud\n"), Stderr, s.Sink(Stderr))
	s.Close()
	if o := out.String(); strings.Contains(o, "quiet") || !strings.Contains(o, "msg=loud sidecar=a stream=stderr") {
		t.Fatalf("slog got %q", o)
	}
	if fl := readLines(t, s.Path()); len(fl) != 2 {
		t.Fatalf("the file must get every line: %q", fl)
	}
}

func TestSidecarLogReachesFileWithoutClose(t *testing.T) {
	s, err := OpenSidecarLog(t.TempDir(), "a", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sink := s.Sink(Stdout)
	// A burst: the first line is written through, the rest are buffered
	// until the flush timer fires, with no more output to push them.
	for i := range 1000 {
		sink(Line{Text: fmt.Sprint("line ", i)})
	}
	// Flushed within 250 ms by design; 3 s leaves room for a loaded CI machine.
	deadline := time.Now().Add(3 * time.Second)
	for {
		b, _ := os.ReadFile(s.Path())
		if bytes.Contains(b, []byte("line 999\n")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lines not in the file after 3 s (%d bytes)", len(b))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSidecarLogRotates(t *testing.T) {
	dir := t.TempDir()
	s, err := openSidecarLog(dir, "big", nil, nil, 1) // rotate at 1 MB
	if err != nil {
		t.Fatal(err)
	}
	sink := s.Sink(Stderr)
	const n = 15000 // ~1.5 MB with the prefix: one rotation
	text := strings.Repeat("x", 60)
	for i := range n {
		sink(Line{Text: fmt.Sprintf("%06d %s", i, text)})
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "big*.log"))
	if len(files) != 2 {
		t.Fatalf("files: %v", files)
	}
	// Every line once, whole, in order across backup then current file.
	backup := files[0]
	if backup == s.Path() {
		backup = files[1]
	}
	all := append(readLines(t, backup), readLines(t, s.Path())...)
	if len(all) != n {
		t.Fatalf("%d lines, want %d", len(all), n)
	}
	for i, fl := range all {
		m := fileLine.FindStringSubmatch(fl)
		if m == nil || m[3] != fmt.Sprintf("%06d %s", i, text) {
			t.Fatalf("line %d: %q", i, fl)
		}
	}
	if st, err := os.Stat(backup); err != nil || st.Size() > 1<<20 {
		t.Fatalf("backup %v %v", st, err)
	}
}

func TestSidecarLogBadName(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"", ".", "..", "a/b", `a\b`, "../x"} {
		if _, err := OpenSidecarLog(dir, name, nil, nil); err == nil {
			t.Errorf("name %q accepted", name)
		}
	}
	if _, err := OpenSidecarLog("", "a", nil, nil); err == nil {
		t.Error("empty dir accepted")
	}
	// A folder that cannot be created fails at open, not at the first line.
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o600)
	if _, err := OpenSidecarLog(filepath.Join(file, "sub"), "a", nil, nil); err == nil {
		t.Error("folder under a file accepted")
	}
}

// stdout and stderr share one file: a long line arriving in pieces is kept
// whole even when the other stream's lines come in between its pieces, and
// a line past MaxFileLine is written in parts, each a line of its own.
func TestLongLineNotInterleaved(t *testing.T) {
	dir := t.TempDir()
	f := newFlushWriter(newRotatingFile(filepath.Join(dir, "a.log"), 64<<20, 1))
	now := time.Now()
	piece := []byte(strings.Repeat("x", MaxLine))
	f.writePiece(now, Stdout, piece, true, false)
	f.writePiece(now, Stderr, []byte("err one"), true, true)
	f.writePiece(now, Stdout, piece, false, false)
	f.writePiece(now, Stderr, []byte(strings.Repeat("e", MaxLine)), true, false)
	f.writePiece(now, Stderr, []byte("E"), false, true)
	f.writePiece(now, Stdout, []byte("end"), false, true)
	giant := []byte(strings.Repeat("g", MaxFileLine/2))
	f.writePiece(now, Stdout, giant, true, false)
	f.writePiece(now, Stdout, giant, false, false)
	f.writePiece(now, Stdout, []byte("tail"), false, true)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "a.log"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		_, rest, _ := strings.Cut(l, " ") // the time
		got = append(got, rest)
	}
	want := []string{
		"stderr err one",
		"stderr " + strings.Repeat("e", MaxLine) + "E",
		"stdout " + strings.Repeat("x", 2*MaxLine) + "end",
		"stdout " + strings.Repeat("g", MaxFileLine),
		"stdout tail",
	}
	if len(got) != len(want) {
		t.Fatalf("%d lines, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d: %d bytes %.40q…, want %d bytes %.40q…", i, len(got[i]), got[i], len(want[i]), want[i])
		}
	}
}

// A lone line is written at once and arms no timer (an idle app wakes for
// nothing); lines right after it are gathered, and the timer writes them.
func TestFlushWriterArmsOnlyWhenGathering(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.log")
	f := newFlushWriter(newRotatingFile(path, 64<<20, 1))
	defer f.Close()
	read := func() string {
		b, _ := os.ReadFile(path)
		return string(b)
	}
	f.writeLine(Line{Time: time.Now(), Stream: Stdout, Text: "one"})
	f.mu.Lock()
	armed := f.armed
	f.mu.Unlock()
	if armed {
		t.Error("a lone line armed the flush timer")
	}
	if !strings.Contains(read(), "stdout one\n") {
		t.Fatalf("a lone line is not in the file at once: %q", read())
	}
	f.writeLine(Line{Time: time.Now(), Stream: Stdout, Text: "two"})
	f.mu.Lock()
	gathered := f.armed && len(f.buf) > 0
	f.mu.Unlock()
	if !gathered && !strings.Contains(read(), "stdout two\n") {
		// Past the window's end the line is written through, never dropped.
		t.Fatal("the second line is neither gathered nor written")
	}
	testutil.Eventually(t, 10*time.Second, func() bool { return strings.Contains(read(), "stdout two\n") },
		"the timer to write the gathered line")
}
