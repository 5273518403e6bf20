package ui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

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

// A real sidecar writing fast: stdout and stderr told apart, batches at
// most ten a second, and nothing followed while the Logs tab is hidden.
func TestLogViewerLiveSidecar(t *testing.T) {
	r := newRig(t, nil, fixtureSpec(t, "alpha", "-stderr-line", "warming up on stderr", "-lines-per-sec", "10000"))
	c := r.ui.cards["alpha"]
	onUI(func() { test.Tap(c.start) })
	r.cardState("alpha", supervisor.Ready)
	p := r.ui.logs
	onUI(func() { r.ui.showLogs("alpha") })
	r.until("lines from both streams", func() bool {
		var out, errs bool
		for i := 0; i < p.length(); i++ {
			l, _ := p.cur.at(i)
			out = out || l.Stream == logs.Stdout
			errs = errs || (l.Stream == logs.Stderr && strings.Contains(l.Text, "warming up"))
		}
		return out && errs
	})
	var f0, l0 int
	onUI(func() { f0, l0 = p.cur.flushes, p.cur.appended })
	time.Sleep(2 * time.Second)
	var f1, l1 int
	onUI(func() { f1, l1 = p.cur.flushes, p.cur.appended })
	t.Logf("2 s of a sidecar writing 10 000 lines/s: %d lines in %d batches", l1-l0, f1-f0)
	if f1-f0 > 21 {
		t.Errorf("%d batches in 2 s, want at most 10 a second", f1-f0)
	}
	if l1-l0 < 500 { // a loose floor: a busy 2-core CI machine under -race is slow
		t.Errorf("only %d lines in 2 s", l1-l0)
	}
	// Another tab: the viewer stops following.
	onUI(func() { r.ui.tabs.SelectIndex(0) })
	time.Sleep(300 * time.Millisecond)
	onUI(func() { f0 = p.cur.flushes })
	time.Sleep(time.Second)
	onUI(func() {
		if p.cur.flushes != f0 {
			t.Errorf("%d batches applied while the Logs tab was hidden", p.cur.flushes-f0)
		}
		// Back: it catches up from where it was.
		r.ui.tabs.Select(r.ui.logsTab)
	})
	r.until("caught up", func() bool { return p.cur.flushes > f0 })
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
