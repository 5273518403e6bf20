package workflows

import (
	"context"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"outrigger/internal/workflow/wfapi"
	"outrigger/internal/workflow/wftest"
)

// uiMu stands for the UI goroutine: the test driver runs fyne.Do at once on
// the calling goroutine, so the panel's hand-overs and the test's own widget
// access take this lock in turn.
var uiMu sync.Mutex

func TestMain(m *testing.M) {
	runOnUI = func(f func()) {
		uiMu.Lock()
		defer uiMu.Unlock()
		f()
	}
	os.Exit(m.Run())
}

func onUI(f func()) {
	uiMu.Lock()
	defer uiMu.Unlock()
	f()
}

// deadline bounds every wait: generous, since a wait returns as soon as
// its condition holds. Beside three busy loops and a make test, with
// -race, TestPanelThroughGateway took 80 s (17 s alone), and one run of
// this package failed once at 43 s, its output lost, with 30 s here.
const deadline = 90 * time.Second

// until polls cond on the "UI goroutine" until it holds.
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(deadline)
	for {
		var ok bool
		onUI(func() { ok = cond() })
		if ok {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("timed out after %v waiting for %s", deadline, what)
		}
		time.Sleep(20 * time.Millisecond) // poll interval, not synchronisation
	}
}

// engine runs the real workflow service in-process over httptest on
// 127.0.0.1, its SQLite database in a temp dir.
func engine(t *testing.T) string { return wftest.Engine(t) }

// newPanel shows a panel for baseURL in a test window and loads it.
func newPanel(t *testing.T, baseURL func() string) (*Panel, fyne.Window) {
	t.Helper()
	return showPanel(t, func(w fyne.Window) *Panel { return New(baseURL, w) })
}

// showPanel shows the panel mk makes in a test window and loads it.
func showPanel(t *testing.T, mk func(fyne.Window) *Panel) (*Panel, fyne.Window) {
	t.Helper()
	a := test.NewTempApp(t)
	var p *Panel
	var w fyne.Window
	onUI(func() {
		w = a.NewWindow("Workflows")
		p = mk(w)
		w.SetContent(p.Object())
		w.Resize(fyne.NewSize(960, 640))
		w.Show()
		p.Refresh()
	})
	t.Cleanup(func() {
		closeWithin(t, p)
		onUI(w.Close)
	})
	return p, w
}

// closeWithin closes p (not under uiMu: its goroutines may be waiting for
// it) and fails if that takes long.
func closeWithin(t *testing.T, p *Panel) {
	t.Helper()
	done := make(chan struct{})
	go func() { p.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(deadline):
		t.Fatal("Close did not end the panel's goroutines")
	}
}

func countTag(rows []row, tag string) int {
	n := 0
	for _, r := range rows {
		if strings.TrimSpace(r.tag) == tag {
			n++
		}
	}
	return n
}

// fetched reports whether the result shows want, tapping Fetch result
// again when no fetch is under way.
func fetched(p *Panel, want string) bool {
	if strings.HasPrefix(p.w.resultHead.Text, want) {
		return true
	}
	if p.w.resultHead.Text != "Fetching…" {
		test.Tap(p.w.fetch)
	}
	return false
}

func pick(t *testing.T, p *Panel, id, input string) {
	t.Helper()
	until(t, "the catalogue to load", func() bool {
		for _, o := range p.w.sel.Options {
			if o == id {
				return true
			}
		}
		return false
	})
	onUI(func() {
		p.w.sel.SetSelected(id)
		if !strings.Contains(p.w.input.Text, `"delay_ms"`) && id == "pipeline" {
			t.Errorf("input not prefilled with the example: %q", p.w.input.Text)
		}
		if !strings.Contains(p.w.hint.Text, "delay_ms: integer 0–60000, default 200") {
			t.Errorf("input hint = %q", p.w.hint.Text)
		}
		p.w.input.SetText(input)
	})
}

// TestRunDisconnectFetch: run the pipeline, disconnect after its first
// chunk, and fetch the stored result: every node completed on the server
// after the client went away.
func TestRunDisconnectFetch(t *testing.T) {
	url := engine(t)
	p, w := newPanel(t, func() string { return url })
	const nodes = 4
	pick(t, p, "pipeline", fmt.Sprintf(`{"text":"go","delay_ms":1200,"nodes":%d}`, nodes))

	onUI(func() {
		if p.w.run.Disabled() || !p.w.disconnect.Disabled() || !p.w.fetch.Disabled() {
			t.Error("before a run: want Run enabled, Disconnect and Fetch disabled")
		}
		test.Tap(p.w.run)
	})
	var id string
	until(t, "the first data chunk in the stream list", func() bool {
		return countTag(p.events, "data") >= 1
	})
	onUI(func() {
		id = p.runID
		if !strings.HasPrefix(id, "ui_") || p.w.id.Text != id {
			t.Errorf("interaction id %q shown as %q", id, p.w.id.Text)
		}
		if !p.w.run.Disabled() || p.w.disconnect.Disabled() {
			t.Error("while streaming: want Run disabled, Disconnect enabled")
		}
		test.Tap(p.w.copyID)
		if got := fyne.CurrentApp().Clipboard().Content(); got != id {
			t.Errorf("clipboard = %q, want %q", got, id)
		}
	})
	until(t, "the engine status to show the run", func() bool {
		return strings.Contains(p.w.engine.Text, "1 running") && strings.Contains(p.w.engine.Text, "4 max workers")
	})
	shot(t, w, "panel.png")

	var atDisconnect int
	onUI(func() {
		test.Tap(p.w.disconnect)
		atDisconnect = countTag(p.events, "data")
		if !strings.Contains(p.w.state.Text, "Disconnected") {
			t.Errorf("state after Disconnect = %q", p.w.state.Text)
		}
	})
	if atDisconnect >= nodes {
		t.Fatalf("%d chunks had arrived before Disconnect; the run was too fast to prove anything", atDisconnect)
	}
	until(t, "the stream goroutine to end", func() bool {
		return !p.w.run.Disabled() && p.w.disconnect.Disabled()
	})

	until(t, "Fetch result to show a completed run", func() bool {
		return fetched(p, "Status: completed")
	})
	onUI(func() {
		if len(p.results) < nodes {
			t.Fatalf("result rows = %d, want every one of %d nodes: %+v", len(p.results), nodes, p.results)
		}
		text := "go"
		for i := 1; i <= nodes; i++ {
			text += fmt.Sprintf("|%d", i)
			r := p.results[i-1]
			if r.tag != fmt.Sprintf("step-%d", i) || !strings.HasPrefix(r.text, "completed") ||
				!strings.Contains(r.text, fmt.Sprintf(`"text":"%s"`, text)) {
				t.Errorf("result row %d = %+v", i, r)
			}
		}
		if got := countTag(p.events, "data"); got != atDisconnect {
			t.Errorf("the list got %d chunks after Disconnect", got-atDisconnect)
		}
		if countTag(p.events, "end") != 0 {
			t.Error("the disconnected stream still delivered its end event")
		}
	})
	shot(t, w, "panel-result.png")
	// The stored result also says so through the client.
	res, err := (&wfapi.Client{BaseURL: url}).Result(context.Background(), id)
	if err != nil || res.Status != wfapi.StatusCompleted || len(res.Nodes) != nodes {
		t.Fatalf("GET /results/%s = %+v, %v", id, res, err)
	}
}

// The panel asks the engine for its status when the run changes state
// (queued, running, ended), not once per streamed event: a run of 20 nodes
// made 22 status calls, each holding up the stream's reader. What the
// engine bar says at the end is still the engine's count after the run.
func TestStatusCallsPerRunNotPerEvent(t *testing.T) {
	var statusCalls atomic.Int64
	url := wftest.EngineWith(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/executions/status" {
				statusCalls.Add(1)
			}
			h.ServeHTTP(w, r)
		})
	})
	p, _ := newPanel(t, func() string { return url })
	const nodes = 20
	pick(t, p, "pipeline", fmt.Sprintf(`{"text":"n","delay_ms":1,"nodes":%d}`, nodes))
	var before int64
	onUI(func() {
		// The catalogue and the status of Refresh are shown together: that
		// status call is over.
		before = statusCalls.Load()
		test.Tap(p.w.run)
	})
	until(t, "the run to end and its stream goroutine with it", func() bool {
		return countTag(p.events, "end") == 1 && !p.w.run.Disabled() && p.w.disconnect.Disabled() &&
			strings.HasPrefix(p.w.engine.Text, "Engine: 0 running · 0 queued")
	})
	onUI(func() {
		if got := countTag(p.events, "data"); got != nodes {
			t.Errorf("%d data rows, want %d", got, nodes)
		}
	})
	// The panel's goroutines have all ended: no call is still to come.
	closeWithin(t, p)
	if n := statusCalls.Load() - before; n > 3 {
		t.Fatalf("%d status calls for one run of %d nodes, want at most 3 (queued, running, ended)", n, nodes)
	}
}

// TestCloseMidStream: Close ends a live stream's goroutine.
func TestCloseMidStream(t *testing.T) {
	url := engine(t)
	p, _ := newPanel(t, func() string { return url })
	pick(t, p, "pipeline", `{"text":"x","delay_ms":2000,"nodes":3}`)
	onUI(func() { test.Tap(p.w.run) })
	until(t, "the run to start", func() bool { return len(p.events) > 0 })
	closeWithin(t, p)
	onUI(func() { test.Tap(p.w.run) }) // after Close: no goroutine, no panic
}

// TestCancelAndBadInput: a bad input is an inline error; Cancel execution
// stores the run as cancelled.
func TestCancelAndBadInput(t *testing.T) {
	url := engine(t)
	p, _ := newPanel(t, func() string { return url })
	pick(t, p, "pipeline", `{"text":`)
	onUI(func() {
		test.Tap(p.w.run)
		if !p.w.err.Visible() || !strings.Contains(p.w.err.Text, "not valid JSON") {
			t.Errorf("error label = %q (visible %v)", p.w.err.Text, p.w.err.Visible())
		}
		p.w.input.SetText(`{"text":"c","delay_ms":5000,"nodes":5}`)
		test.Tap(p.w.run)
		if p.w.err.Visible() {
			t.Errorf("error still shown: %q", p.w.err.Text)
		}
	})
	until(t, "the run to start", func() bool { return len(p.events) > 0 })
	onUI(func() { test.Tap(p.w.cancelRun) })
	until(t, "the stream to end cancelled", func() bool { return countTag(p.events, "end") == 1 })
	onUI(func() {
		last := p.events[len(p.events)-1]
		if !strings.HasPrefix(last.text, "cancelled") || last.imp != widget.WarningImportance {
			t.Errorf("end row = %+v", last)
		}
	})
	until(t, "Fetch result to show a cancelled run", func() bool {
		return fetched(p, "Status: cancelled")
	})
	onUI(func() {
		if !p.w.cancelRun.Disabled() {
			t.Error("Cancel execution still enabled after the run ended")
		}
		// The stream list shows its last row.
		l := p.w.events
		if want := l.Size().Height; want > 0 && len(p.events) > 3 {
			var lastShown bool
			for _, o := range test.LaidOutObjects(l) {
				if lab, ok := o.(*widget.Label); ok && lab.Visible() && strings.HasPrefix(lab.Text, "cancelled in") {
					lastShown = true
				}
			}
			if !lastShown {
				t.Error("the stream's last row (the end event) is not in view")
			}
		}
	})
}

// TestStaleRunCleared: picking another workflow, or another engine (a mode
// switch), clears the last run's stream, result and id; descriptions show
// code spans without backticks; the interaction id is explained.
func TestStaleRunCleared(t *testing.T) {
	url := engine(t)
	var current atomic.Value
	current.Store(url)
	p, _ := newPanel(t, func() string { return current.Load().(string) })
	pick(t, p, "pipeline", `{"text":"s","delay_ms":10,"nodes":2}`)
	onUI(func() {
		test.Tap(p.w.run)
		var text string
		for _, seg := range p.w.desc.Segments {
			if ts, ok := seg.(*widget.TextSegment); ok {
				text += ts.Text
			}
		}
		if strings.Contains(text, "`") || !strings.Contains(text, "nodes") {
			t.Errorf("description shown as %q", text)
		}
		found := false
		for _, o := range test.LaidOutObjects(p.Object()) {
			if l, ok := o.(*widget.Label); ok && strings.Contains(l.Text, "interaction ID: Fetch result") {
				found = true
			}
		}
		if !found {
			t.Error("the interaction ID is not explained")
		}
	})
	until(t, "the run to end", func() bool { return countTag(p.events, "end") == 1 })
	onUI(func() {
		other := ""
		for _, o := range p.w.sel.Options {
			if o != "pipeline" {
				other = o
			}
		}
		p.w.sel.SetSelected(other)
		if len(p.events) != 0 || p.runID != "" || p.w.id.Text != "none yet" || !p.w.fetch.Disabled() {
			t.Errorf("after picking %s: %d stream rows, run %q", other, len(p.events), p.runID)
		}
		p.w.sel.SetSelected("pipeline")
		p.w.input.SetText(`{"text":"s","delay_ms":10,"nodes":2}`)
		test.Tap(p.w.run)
	})
	until(t, "the second run to end", func() bool { return countTag(p.events, "end") == 1 })
	current.Store("")
	onUI(p.Refresh)
	current.Store(url)
	onUI(func() {
		p.Refresh()
		if len(p.events) != 0 || p.runID != "" {
			t.Errorf("after a mode switch: %d stream rows, run %q", len(p.events), p.runID)
		}
	})
}

// TestPlaceholder: without an engine the panel shows the placeholder, and
// it asks baseURL again on Refresh.
func TestPlaceholder(t *testing.T) {
	url := engine(t)
	var current atomic.Value
	current.Store("")
	p, w := newPanel(t, func() string { return current.Load().(string) })
	shot(t, w, "panel-placeholder.png")
	onUI(func() {
		if !p.w.placeholder.Visible() || p.w.content.Visible() {
			t.Fatal("want the placeholder and no content without an engine")
		}
		found := false
		for _, o := range test.LaidOutObjects(p.Object()) {
			if l, ok := o.(*widget.Label); ok && l.Text == "Switch to Service or Connected mode to run workflows" && l.Visible() {
				found = true
			}
		}
		if !found {
			t.Error("placeholder text not laid out")
		}
		test.Tap(p.w.run) // harmless
	})
	current.Store(url)
	onUI(p.Refresh)
	until(t, "the catalogue after switching to Service mode", func() bool {
		return !p.w.placeholder.Visible() && p.w.content.Visible() && len(p.w.sel.Options) >= 3
	})
	current.Store("")
	onUI(p.Refresh)
	onUI(func() {
		if !p.w.placeholder.Visible() {
			t.Error("placeholder not back after leaving Service mode")
		}
	})
}

// TestPlaceholderWhileTheEngineStarts: in Service mode before the engine
// is Ready, the placeholder says so instead of suggesting another mode,
// and gives way to the catalogue once the engine is there.
func TestPlaceholderWhileTheEngineStarts(t *testing.T) {
	url := engine(t)
	var current atomic.Value
	current.Store(Endpoint{Waiting: "xgen-workflow is not ready yet (starting)"})
	p, _ := showPanel(t, func(w fyne.Window) *Panel {
		return NewEndpoint(func() Endpoint { return current.Load().(Endpoint) }, w, nil)
	})
	onUI(func() {
		if !p.w.placeholder.Visible() || p.w.content.Visible() {
			t.Fatal("want the placeholder while the engine starts")
		}
		if p.w.phTitle.Text != "xgen-workflow is not ready yet (starting)" || !strings.Contains(p.w.phNote.Text, "as soon as it is Ready") {
			t.Errorf("placeholder says %q / %q", p.w.phTitle.Text, p.w.phNote.Text)
		}
	})
	current.Store(Endpoint{URL: url, What: "the local xgen-workflow"})
	onUI(p.Refresh)
	until(t, "the catalogue once the engine is Ready", func() bool {
		return !p.w.placeholder.Visible() && p.w.content.Visible() && len(p.w.sel.Options) >= 3
	})
	current.Store(Endpoint{})
	onUI(p.Refresh)
	onUI(func() {
		if p.w.phTitle.Text != noEngineTitle {
			t.Errorf("with no engine in the mode: %q", p.w.phTitle.Text)
		}
	})
}

// shot saves the window to testdata/name when UPDATE_SHOTS is set (a
// temp file otherwise, so that a plain test run leaves the tree clean).
func shot(t *testing.T, w fyne.Window, name string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if os.Getenv("UPDATE_SHOTS") != "" {
		path = filepath.Join("testdata", name)
	}
	onUI(func() {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := png.Encode(f, w.Canvas().Capture()); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("screenshot: %s", path)
}

// Every terminal status the engine reports has a colour that says how it
// ended; store_failed (the engine could not record the end) is an error.
func TestStatusImportance(t *testing.T) {
	want := map[string]widget.Importance{
		wfapi.StatusCompleted:   widget.SuccessImportance,
		wfapi.StatusFailed:      widget.DangerImportance,
		wfapi.StatusInterrupted: widget.DangerImportance,
		wfapi.StatusStoreFailed: widget.DangerImportance,
		wfapi.StatusCancelled:   widget.WarningImportance,
		wfapi.StatusRunning:     widget.MediumImportance,
	}
	for status, imp := range want {
		if got := statusImportance(status); got != imp {
			t.Errorf("%s: importance %v, want %v", status, got, imp)
		}
	}
}

// An end event whose data does not decode (a gateway in front of the
// engine may send anything) ends the stream in words; it crashed the
// panel (errText of a nil error) and took the app with it.
func TestUnreadableEndEvent(t *testing.T) {
	target, err := url.Parse(engine(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/workflow/stream" {
			proxy.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "event: end\ndata: {not json\n\n")
	}))
	t.Cleanup(srv.Close)
	p, _ := newPanel(t, func() string { return srv.URL })
	pick(t, p, "pipeline", `{"text":"x","delay_ms":1,"nodes":1}`)
	onUI(func() { test.Tap(p.w.run) })
	until(t, "the stream's end to be told", func() bool {
		return strings.Contains(p.w.state.Text, "could not be read") && !p.w.err.Visible()
	})
}
