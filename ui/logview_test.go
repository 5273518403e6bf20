package ui

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"outrigger/core/config"
	"outrigger/core/logs"
	"outrigger/core/supervisor"
)

// The viewer holds 100 000 lines and stays quick: the initial load, the
// filter, stream selection, follow / scroll-up / resume, copy.
func TestLogViewer100k(t *testing.T) {
	const n = 100_000
	r := newRig(t, &rigOpts{ringSize: n}, fixtureSpec(t, "alpha"))
	ring := r.sup.Logs("alpha")
	now := time.Now()
	for i := 1; i <= n; i++ {
		s := logs.Stdout
		if i%10 == 0 {
			s = logs.Stderr
		}
		ring.Append(logs.Line{Time: now, Stream: s, Text: fmt.Sprintf("line %06d: GET /workflow/stream 200 in %d ms", i, i%997)})
	}
	p := r.ui.logs
	t0 := time.Now()
	onUI(func() { r.ui.showLogs("alpha") })
	r.until("100 000 lines in the viewer", func() bool { return p.length() == n })
	t.Logf("100 000 lines shown in %v", time.Since(t0))
	onUI(func() {
		if !p.following() {
			t.Error("not following the tail at first")
		}
		if off, want := p.list.GetScrollOffset(), p.maxOffset(); off < want-1 {
			t.Errorf("scroll offset %v, want the end %v", off, want)
		}
		row := newLogRow()
		p.update(n-1, row)
		if !strings.HasPrefix(row.text.Text, "line 100000") || row.tag.Text != "err" {
			t.Errorf("last row = %q %q", row.tag.Text, row.text.Text)
		}
		p.update(0, row)
		if !strings.HasPrefix(row.text.Text, "line 000001") || row.tag.Text != "out" {
			t.Errorf("first row = %q %q", row.tag.Text, row.text.Text)
		}

		start := time.Now()
		p.filter.SetText("LINE 099999")
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("filtering 100 000 lines took %v", took)
		} else {
			t.Logf("filter over 100 000 lines: %v", time.Since(start))
		}
		if p.length() != 1 {
			t.Errorf("filter matched %d lines, want 1", p.length())
		}
		p.filter.SetText("")
		p.streams.SetSelectedIndex(2)
		if p.length() != n/10 {
			t.Errorf("stderr only: %d lines, want %d", p.length(), n/10)
		}
		p.streams.SetSelectedIndex(0)
		if p.length() != n {
			t.Errorf("all streams: %d lines", p.length())
		}

		// Copy the selected line.
		p.list.Select(4)
		test.Tap(p.copySel)
		if got := r.app.Clipboard().Content(); !strings.HasPrefix(got, "line 000005") {
			t.Errorf("copied %q", got)
		}
		p.list.UnselectAll()

		// The user scrolls up: following stops.
		p.list.ScrollToOffset(0)
	})
	for i := 0; i < 10; i++ {
		ring.Append(logs.Line{Text: fmt.Sprintf("more %d", i)})
	}
	r.until("10 more lines", func() bool { return p.length() == n+10 })
	onUI(func() {
		if p.following() {
			t.Error("still following after the user scrolled up")
		}
		if off := p.list.GetScrollOffset(); off != 0 {
			t.Errorf("the view moved to %v while the user read the top", off)
		}
		// Back at the end: following resumes with the next batch.
		p.list.ScrollToBottom()
	})
	ring.Append(logs.Line{Text: "after resume"})
	r.until("following again", func() bool { return p.length() == n+11 && p.following() })

	// The view keeps at most maxViewLines (+ a tenth of slack).
	for i := 0; i < n/5; i++ {
		ring.Append(logs.Line{Text: fmt.Sprintf("flood %d", i)})
	}
	r.until("flood applied", func() bool {
		l, ok := p.cur.at(p.length() - 1)
		return ok && l.Text == fmt.Sprintf("flood %d", n/5-1)
	})
	onUI(func() {
		if l := len(p.cur.lines); l > maxViewLines+maxViewLines/10 {
			t.Errorf("viewer holds %d lines", l)
		}
		test.Tap(p.clear)
		if p.length() != 0 {
			t.Errorf("Clear left %d lines", p.length())
		}
	})
}

// A real sidecar writing fast: stdout and stderr told apart, everything
// the ring got between two paces arrives in one batch, and nothing is
// followed while the Logs tab is hidden. The pace is the test's: no sleep
// decides the outcome.
func TestLogViewerLiveSidecar(t *testing.T) {
	r := newRig(t, nil, fixtureSpec(t, "alpha", "-stderr-line", "warming up on stderr", "-lines-per-sec", "10000"))
	p := r.ui.logs
	// The follower reports each time it waits for its pace, and waits
	// until the test ticks.
	pace, parked := make(chan time.Time), make(chan struct{})
	onUI(func() {
		p.pace = func() <-chan time.Time {
			select {
			case parked <- struct{}{}:
			case <-r.ui.done:
			}
			return pace
		}
	})
	waitParked := func() {
		t.Helper()
		select {
		case <-parked:
		case <-time.After(wait):
			t.Fatal("the follower never waited for its pace")
		}
	}
	tick := func() { pace <- time.Now() } // the follower is parked: it takes it
	// The viewer follows from before the start, so the one stderr line is
	// never pushed out of the ring first.
	onUI(func() { r.ui.showLogs("alpha") })
	c := r.ui.cards["alpha"]
	onUI(func() { test.Tap(c.start) })
	deadline := time.Now().Add(wait)
	for {
		if time.Now().After(deadline) {
			t.Fatal("no lines from both streams")
		}
		waitParked()
		var out, errs bool
		onUI(func() {
			for i := 0; i < p.length(); i++ {
				l, _ := p.cur.at(i)
				out = out || l.Stream == logs.Stdout
				errs = errs || (l.Stream == logs.Stderr && strings.Contains(l.Text, "warming up"))
			}
		})
		if out && errs {
			break
		}
		tick()
	}
	// Parked: whatever the sidecar writes meanwhile arrives in one batch
	// after the tick.
	ring := r.sup.Logs("alpha")
	var f0 int
	onUI(func() { f0 = p.cur.flushes })
	before := ring.Last()
	r.until("the sidecar wrote 1 000 more lines", func() bool { return ring.Last() >= before+1000 })
	onUI(func() {
		if p.cur.flushes != f0 {
			t.Errorf("%d batches applied before the pace allowed one", p.cur.flushes-f0)
		}
	})
	tick()
	waitParked()
	onUI(func() {
		last, _ := p.cur.at(p.length() - 1)
		if p.cur.flushes != f0+1 || last.Seq < before+1000 {
			t.Errorf("%d batches, ending at line %d: want 1 holding line %d", p.cur.flushes-f0, last.Seq, before+1000)
		}
	})

	// Another tab: the follower ends; lines written meanwhile wait in the
	// ring and come in one batch when the tab shows again.
	var ended chan struct{}
	onUI(func() { ended = p.cur.ended; r.ui.tabs.SelectIndex(0) })
	select {
	case <-ended:
	case <-time.After(wait):
		t.Fatal("the follower kept running with the Logs tab hidden")
	}
	onUI(func() { f0 = p.cur.flushes })
	hidden := ring.Last()
	r.until("the sidecar wrote on while hidden", func() bool { return ring.Last() >= hidden+500 })
	onUI(func() {
		if p.cur.flushes != f0 || p.cur.stop != nil {
			t.Errorf("%d batches applied while the Logs tab was hidden", p.cur.flushes-f0)
		}
		r.ui.tabs.Select(r.ui.logsTab)
	})
	waitParked()
	onUI(func() {
		last, ok := p.cur.at(p.length() - 1)
		if !ok || last.Seq < hidden+500 || p.cur.flushes != f0+1 {
			t.Errorf("after showing the tab again: %d batches, last line %d, want 1 up to %d", p.cur.flushes-f0, last.Seq, hidden+500)
		}
	})
}

// A crash shows in the sidecar's log as a line of Outrigger's own, after
// the lines the sidecar wrote before it; a restart within the grace
// period sends no notification.
func TestLogMarkersOnCrash(t *testing.T) {
	spec := fixtureSpec(t, "alpha", "-crash-after", "400ms")
	spec.Restart = config.DefaultRestart()
	spec.Restart.MaxRetries = 1
	spec.Restart.InitialBackoff = 50 * time.Millisecond
	r := newRig(t, &rigOpts{restarts: true}, spec)
	var notes []string
	r.ui.notes.send = func(n *fyne.Notification, _ notifyUrgency) { notes = append(notes, n.Title) }
	onUI(func() { test.Tap(r.ui.cards["alpha"].start) })
	r.cardState("alpha", supervisor.Failed)
	p := r.ui.logs
	onUI(func() { r.ui.showLogs("alpha") })
	r.until("a restart and a give-up marker", func() bool {
		var restart, gaveUp bool
		for i := 0; i < p.length(); i++ {
			l, _ := p.cur.at(i)
			if l.Stream == markStream {
				restart = restart || strings.Contains(l.Text, "; restarting")
				gaveUp = gaveUp || strings.Contains(l.Text, "gave up")
			}
		}
		return restart && gaveUp
	})
	onUI(func() {
		for i := 0; i < p.length(); i++ {
			l, _ := p.cur.at(i)
			if l.Stream == markStream && strings.Contains(l.Text, "restarting now; restarting") {
				t.Errorf("marker repeats itself: %q", l.Text)
			}
		}
		if len(notes) != 1 || notes[0] != "alpha failed" {
			t.Errorf("notifications %q, want only the give-up", notes)
		}
		row := newLogRow()
		row.prefix = "alpha"
		for i := 0; i < p.length(); i++ {
			if l, _ := p.cur.at(i); l.Stream == markStream {
				row.set(l)
				break
			}
		}
		if row.tag.Text != "app" {
			t.Errorf("marker row tag %q", row.tag.Text)
		}
	})
}

// A sidecar's own name and timestamp are not shown a second time beside
// the viewer's time column.
func TestDisplayText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"xgen-embedding: 2026/11/27 11:00:00.123456 model loaded", "model loaded"},
		{"2026-11-27 11:00:00,123 INFO uvicorn running", "INFO uvicorn running"},
		{"2026-11-27T11:00:00.5+01:00 ready", "ready"},
		{"[xgen-embedding] 2026-11-27T11:00:00Z up", "up"},
		{"GET /health 200", "GET /health 200"},
		{"time=2026-11-27T11:19:07.753Z level=INFO msg=listening", "level=INFO msg=listening"},
		{"xgen-embedding: ", "xgen-embedding: "},
		{"2026/11/27 11:00:00x not a time", "2026/11/27 11:00:00x not a time"},
	} {
		if got := displayText("xgen-embedding", tc.in); got != tc.want {
			t.Errorf("displayText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// Outrigger's own JSON log is readable in the Logs tab.
func TestOwnLogView(t *testing.T) {
	r := newRig(t, nil, fixtureSpec(t, "alpha"))
	dir := r.ui.logDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	rec := `{"time":"2026-11-27T11:00:00.5Z","level":"WARN","msg":"restarting","sidecar":"alpha","attempt":1}` + "\n"
	if err := os.WriteFile(filepath.Join(dir, ownLogFile), []byte(`{"time":"2026-11-27T10:59:00Z","level":"INFO","msg":"started"}`+"\n"+rec), 0o644); err != nil {
		t.Fatal(err)
	}
	p := r.ui.logs
	onUI(func() {
		found := false
		for _, o := range p.picker.Options {
			found = found || o == ownLogName
		}
		if !found {
			t.Fatalf("no %q in the picker: %q", ownLogName, p.picker.Options)
		}
		r.ui.showLogs(ownLogName)
	})
	r.until("own log lines", func() bool { return p.length() == 2 })
	onUI(func() {
		l, _ := p.cur.at(1)
		if l.Text != "WARN restarting attempt=1 sidecar=alpha" || l.Stream != logs.Stderr {
			t.Errorf("own log line %q (%v)", l.Text, l.Stream)
		}
	})
}

func TestContainsFold(t *testing.T) {
	for _, tc := range []struct {
		s, q string
		want bool
	}{
		{"Hello World", "world", true},
		{"Hello World", "o w", true},
		{"Hello", "hello!", false},
		{"ÄRGER über", "über", true},
		{"", "", true},
		{"abc", "", true},
		{"abc", "abd", false},
	} {
		if got := containsFold(tc.s, tc.q); got != tc.want {
			t.Errorf("containsFold(%q, %q) = %v", tc.s, tc.q, got)
		}
	}
}

// The Logs footer shows the sidecar's log file whole: on its own row,
// wrapped when the window is narrow (not cut with an ellipsis), and
// selectable so it can be copied.
func TestLogsFooterPathWhole(t *testing.T) {
	r := newRig(t, nil, fixtureSpec(t, "alpha"))
	onUI(func() { test.Tap(r.ui.cards["alpha"].start) })
	r.cardState("alpha", supervisor.Ready)
	st, _ := r.sup.Status("alpha")
	if st.LogFile == "" {
		t.Fatal("self-check: alpha has no log file")
	}
	p := r.ui.logs
	onUI(func() {
		r.ui.showLogs("alpha")
		p.updateStatus()
		if !p.pathRow.Visible() || p.path.Text != st.LogFile {
			t.Fatalf("footer path %q (shown %v), want %q", p.path.Text, p.pathRow.Visible(), st.LogFile)
		}
		if strings.Contains(p.status.Text, st.LogFile) {
			t.Errorf("the path is still in the cut status line: %q", p.status.Text)
		}
		if !p.path.Selectable || p.path.Truncation != fyne.TextTruncateOff {
			t.Error("the path cannot be selected, or is cut")
		}
	})

	// A path wider than the window wraps onto more lines.
	long := "/home/someone/.local/state/outrigger/" + strings.Repeat("a-rather-long-folder-name/", 8) + "alpha.log"
	var lp *logsPanel
	onUI(func() {
		lp = newLogsPanel(logsDeps{names: []string{"alpha"}, ring: func(string) *logs.Ring { return nil },
			logFile: func(string) string { return long }, openFolder: func() {}, copy: func(string) {},
			do: func(f func()) { f() }, done: make(chan struct{}), applied: func() {}})
	})
	w := test.NewTempWindow(t, lp.root)
	onUI(func() {
		w.Resize(fyne.NewSize(600, 400))
		lp.updateStatus()
		if lp.path.Text != long {
			t.Fatalf("footer path %q", lp.path.Text)
		}
		one := widget.NewLabel("x").MinSize().Height
		if h := lp.path.Size().Height; h <= one {
			t.Errorf("a path wider than a 600 px window is %v px high: not wrapped (one line is %v)", h, one)
		}
		if w.Canvas().Size().Width > 600 {
			t.Errorf("the path widened the window to %v", w.Canvas().Size())
		}
	})
}

// Outrigger's own log, longer than the backlog shown at first, starts at
// a whole record: before, the first row was the tail of a record cut in
// the middle, shown as raw JSON.
func TestOwnLogTailStartsAtARecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), ownLogFile)
	var b strings.Builder
	for i := 0; b.Len() < 2*ownLogBacklog; i++ {
		fmt.Fprintf(&b, `{"time":"2026-11-27T11:00:00Z","level":"INFO","msg":"tick","n":%d}`+"\n", i)
	}
	data := b.String()
	if cut := len(data) - ownLogBacklog; data[cut-1] == '\n' {
		t.Fatal("self-check: the backlog starts at a record; the test needs one cut")
	}
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	tail := &fileTail{path: path, ring: logs.NewRing(50_000)}
	tail.read()
	lines := tail.ring.Lines()
	if len(lines) == 0 {
		t.Fatal("nothing read")
	}
	for _, l := range lines {
		if !strings.HasPrefix(l.Text, "INFO tick n=") {
			t.Fatalf("row %q is not a record", l.Text)
		}
	}
	if last := lines[len(lines)-1].Text; !strings.HasSuffix(strings.TrimSpace(data), fmt.Sprintf(`"n":%s}`, strings.TrimPrefix(last, "INFO tick n="))) {
		t.Errorf("last row %q is not the file's last record", last)
	}
}

// floodPanel is a Logs panel over ring alone, in a window, with what it
// copies recorded.
func floodPanel(t *testing.T, ring *logs.Ring) (*logsPanel, *string) {
	var copied string
	var p *logsPanel
	onUI(func() {
		p = newLogsPanel(logsDeps{names: []string{"alpha"}, ring: func(string) *logs.Ring { return ring },
			logFile: func(string) string { return "" }, openFolder: func() {}, copy: func(s string) { copied = s },
			do: func(f func()) { f() }, done: make(chan struct{}), applied: func() {}})
	})
	w := test.NewTempWindow(t, p.root)
	onUI(func() { w.Resize(fyne.NewSize(800, 600)) })
	return p, &copied
}

// pour appends n numbered lines to ring from next on and applies them, as
// the follower and a batch would.
func pour(p *logsPanel, ring *logs.Ring, next, n int) int {
	now := time.Now()
	for i := next; i < next+n; i++ {
		ring.Append(logs.Line{Time: now, Stream: logs.Stdout, Text: fmt.Sprintf("line %06d", i)})
	}
	onUI(func() {
		p.cur.take()
		p.cur.flush()
	})
	return next + n
}

// A selected line stays the one selected when a flood drops the oldest
// lines: Copy line copies what the detail shows. Before, the selection
// kept its row number and Copy line took whatever line had moved there.
func TestLogSelectionSurvivesTrim(t *testing.T) {
	ring := logs.NewRing(maxViewLines + maxViewLines/2)
	p, copied := floodPanel(t, ring)
	next := pour(p, ring, 0, maxViewLines)
	onUI(func() {
		p.list.Select(maxViewLines - 10)
		if p.detail.Text != fmt.Sprintf("line %06d", maxViewLines-10) {
			t.Fatalf("detail %q", p.detail.Text)
		}
	})
	pour(p, ring, next, maxViewLines/5) // past the slack: the oldest are dropped
	onUI(func() {
		if p.cur.base == 0 {
			t.Fatal("self-check: nothing was dropped")
		}
		test.Tap(p.copySel)
		want := fmt.Sprintf("line %06d", maxViewLines-10)
		if *copied != want || p.detail.Text != want {
			t.Errorf("Copy line copied %q, the detail shows %q; selected was %q", *copied, p.detail.Text, want)
		}
	})
}

// A user reading older lines (Follow off) keeps seeing them when a flood
// drops the oldest: before, the view stayed at its offset and showed lines
// thousands further on.
func TestLogReadingPlaceSurvivesTrim(t *testing.T) {
	ring := logs.NewRing(maxViewLines + maxViewLines/2)
	p, _ := floodPanel(t, ring)
	next := pour(p, ring, 0, maxViewLines)
	top := func() string {
		pad := p.list.Theme().Size(theme.SizeNamePadding)
		l, _ := p.cur.at(int(p.list.GetScrollOffset()/(p.rowH+pad) + 0.5))
		return l.Text
	}
	var before string
	onUI(func() {
		p.follow.SetChecked(false)
		p.list.ScrollTo(60_000)
		before = top()
	})
	pour(p, ring, next, maxViewLines/5)
	onUI(func() {
		if p.cur.base == 0 {
			t.Fatal("self-check: nothing was dropped")
		}
		if after := top(); after != before {
			t.Errorf("the top row was %q, is %q after the oldest lines were dropped", before, after)
		}
	})
}

// Selecting a long line (a Python traceback on one line, say) shows it
// whole below the list without squeezing the list: before, the wrapped
// line took the tab's height and left the list one row.
func TestLogLongLineDetailKeepsList(t *testing.T) {
	r := newRig(t, nil, fixtureSpec(t, "alpha"))
	ring := r.sup.Logs("alpha")
	for range 50 {
		ring.Append(logs.Line{Time: time.Now(), Text: "short line"})
	}
	long := strings.Repeat("Traceback frame value=0123456789 ", logs.MaxRingLine/33)
	ring.Append(logs.Line{Time: time.Now(), Stream: logs.Stderr, Text: long})
	p := r.ui.logs
	onUI(func() { r.ui.showLogs("alpha") })
	r.until("the lines", func() bool { return p.length() == 51 })
	relayout := func() {
		r.ui.win.Resize(fyne.NewSize(961, 600))
		r.ui.win.Resize(fyne.NewSize(960, 600))
	}
	var before float32
	onUI(func() {
		relayout()
		before = p.list.Size().Height
		p.list.Select(50)
		relayout()
		if p.detail.Text != long || !p.detail.Visible() {
			t.Errorf("the detail does not hold the whole line (%d of %d bytes)", len(p.detail.Text), len(long))
		}
		if h := p.list.Size().Height; h < before*2/3 {
			t.Errorf("the list went from %v to %v px high when a long line was selected", before, h)
		}
	})
}

// A short selected line takes one row below the list, not the box's most.
func TestLogShortLineDetailOneRow(t *testing.T) {
	r := newRig(t, nil, fixtureSpec(t, "alpha"))
	r.sup.Logs("alpha").Append(logs.Line{Time: time.Now(), Text: "short line"})
	p := r.ui.logs
	onUI(func() { r.ui.showLogs("alpha") })
	r.until("the line", func() bool { return p.length() == 1 })
	onUI(func() {
		p.list.Select(0)
		r.ui.win.Resize(fyne.NewSize(961, 600))
		r.ui.win.Resize(fyne.NewSize(960, 600))
		if h, one := p.detailBox.Size().Height, p.detail.MinSize().Height; h > one+1 {
			t.Errorf("the detail of a short line is %v px high, its text %v", h, one)
		}
	})
}

// Outrigger's own log rotating between two reads of the Logs tab: the
// records written before the rotation (now at the end of the backup) and
// those of the new file all show, once and in order. Before, the first
// were lost and the new file was read from the old file's offset, its
// first rows cut records or missing.
func TestOwnLogTailFollowsRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ownLogFile)
	rec := func(i int) string {
		return fmt.Sprintf(`{"time":"2026-11-28T10:00:00Z","level":"INFO","msg":"tick","n":%d}`+"\n", i)
	}
	appendRecs := func(p string, from, to int) {
		f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		for i := from; i < to; i++ {
			f.WriteString(rec(i))
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	tail := &fileTail{path: path, ring: logs.NewRing(50_000)}
	appendRecs(path, 0, 10)
	tail.read()
	appendRecs(path, 10, 15) // written before the rotation, not yet read
	// The rotation, as core/logs names it: an older backup beside it too.
	appendRecs(filepath.Join(dir, "outrigger-2026-11-28T09-00-00.000.log"), 1000, 1003)
	if err := os.Rename(path, filepath.Join(dir, "outrigger-2026-11-28T10-00-00.000.log")); err != nil {
		t.Fatal(err)
	}
	appendRecs(path, 15, 40) // the new file, longer than the old offset
	tail.read()
	lines := tail.ring.Lines()
	var got []string
	for _, l := range lines {
		got = append(got, strings.TrimPrefix(l.Text, "INFO tick n="))
	}
	var want []string
	for i := range 40 {
		want = append(want, strconv.Itoa(i))
	}
	if !slices.Equal(got, want) {
		t.Errorf("rows after a rotation:\n got %q\nwant %q", got, want)
	}
}
