package ui

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"outrigger/core/supervisor"
)

var fixedNow = time.Date(2026, 1, 9, 1, 13, 0, 0, time.UTC)

// previewUI is a UI over no supervisor, with the preview statuses'
// sidecars and a fixed clock.
func previewUI(t *testing.T) (*UI, []supervisor.Status) {
	t.Helper()
	test.NewTempApp(t)
	sts := previewStatuses(fixedNow)
	u := New(fyne.CurrentApp(), Deps{Config: previewConfig(sts)})
	u.now = func() time.Time { return fixedNow }
	onUI(u.build)
	return u, sts
}

// Each state renders as designed: colour, word, numbers, note and buttons
// (markup masters in testdata/card/).
func TestCardRendersEachState(t *testing.T) {
	u, sts := previewUI(t)
	extra := []supervisor.Status{
		{Name: "speech", State: supervisor.Unhealthy, PID: 9001, Port: 8005, URL: "http://127.0.0.1:8005",
			StartedAt: ptr(fixedNow.Add(-2 * time.Hour)), Reason: "liveness: 3 probes failed (GET /health: 503)", CPUPercent: 0.2, RSSBytes: 20 << 20},
		{Name: "speech", State: supervisor.Stopping, PID: 9001, Port: 8005, URL: "http://127.0.0.1:8005",
			StartedAt: ptr(fixedNow.Add(-2 * time.Hour)), Reason: "stopped by user"},
		{Name: "speech", State: supervisor.Exited, Port: 8005, URL: "http://127.0.0.1:8005",
			LastExit: &supervisor.Exit{Code: 0}, Reason: "exited cleanly; restart policy is on-failure"},
	}
	cases := append(append([]supervisor.Status{}, sts...), extra...)
	for _, st := range cases {
		t.Run(string(st.State), func(t *testing.T) {
			c := u.cards[st.Name]
			var w fyne.Window
			onUI(func() {
				c.apply(st)
				w = test.NewWindow(c.root)
				w.Resize(fyne.NewSize(860, c.root.MinSize().Height))
			})
			defer onUI(w.Close)
			onUI(func() {
				test.AssertRendersToMarkup(t, "card/"+string(st.State)+".xml", w.Canvas())
				if got, want := c.pill.text.Text, lookOf(st.State).Word; got != want {
					t.Errorf("pill says %q, want %q", got, want)
				}
				if got, want := c.pill.text.Color, colorOf(lookOf(st.State).Color); got != want {
					t.Errorf("pill colour %v, want %v", got, want)
				}
			})
		})
	}
}

func ptr[T any](v T) *T { return &v }

// Start / Stop / Restart are enabled according to the state, and Start
// says what it will do.
func TestButtonsPerState(t *testing.T) {
	u, _ := previewUI(t)
	c := u.cards["xgen-workflow"]
	cases := []struct {
		state              supervisor.State
		start, stop, resta bool
		startLabel         string
	}{
		{supervisor.Stopped, true, false, false, "Start"},
		{supervisor.Starting, false, true, true, "Start"},
		{supervisor.Ready, false, true, true, "Start"},
		{supervisor.Unhealthy, false, true, true, "Start"},
		{supervisor.Backoff, true, true, false, "Start now"},
		{supervisor.Stopping, false, false, false, "Start"},
		{supervisor.Exited, true, false, false, "Start"},
		{supervisor.Failed, true, false, false, "Reset & start"},
	}
	for _, tc := range cases {
		onUI(func() {
			c.apply(supervisor.Status{Name: "xgen-workflow", State: tc.state, Port: 8001})
			got := [3]bool{!c.start.Disabled(), !c.stop.Disabled(), !c.restart.Disabled()}
			want := [3]bool{tc.start, tc.stop, tc.resta}
			if got != want {
				t.Errorf("%s: start/stop/restart enabled = %v, want %v", tc.state, got, want)
			}
			if c.start.Text != tc.startLabel {
				t.Errorf("%s: start button says %q, want %q", tc.state, c.start.Text, tc.startLabel)
			}
		})
	}
	// While a command of ours is in flight every button waits.
	onUI(func() {
		c.apply(supervisor.Status{Name: "xgen-workflow", State: supervisor.Ready})
		c.busy = true
		c.setButtons()
		if !c.stop.Disabled() || !c.restart.Disabled() {
			t.Error("buttons enabled while a command is in flight")
		}
		c.busy = false
	})
}

// The header sums the sidecars up: one word and colour for the whole app.
func TestOverall(t *testing.T) {
	st := func(states ...supervisor.State) []supervisor.Status {
		var out []supervisor.Status
		for i, s := range states {
			out = append(out, supervisor.Status{Name: string(rune('a' + i)), State: s})
		}
		return out
	}
	cases := []struct {
		in    []supervisor.Status
		level Overall
		text  string
	}{
		{st(supervisor.Ready, supervisor.Ready), OverallReady, "All 2 services ready"},
		{st(supervisor.Ready, supervisor.Starting), OverallStarting, "Starting… 1 of 2 ready"},
		{st(supervisor.Ready, supervisor.Backoff), OverallStarting, "Recovering 1 of 2"},
		{st(supervisor.Ready, supervisor.Failed), OverallFailed, "b failed"},
		{st(supervisor.Unhealthy, supervisor.Ready), OverallFailed, "a is not answering its health check"},
		{st(supervisor.Stopped, supervisor.Stopped), OverallIdle, "No service running"},
		{st(supervisor.Ready, supervisor.Stopped), OverallReady, "1 of 2 services ready"},
		// b should run (auto-start in Service mode) but stays stopped: not green.
		{st(supervisor.Ready, supervisor.Stopped), OverallWarning, "b is not running"},
		{st(supervisor.Stopped, supervisor.Stopped), OverallWarning, "2 services are not running"},
	}
	for i, tc := range cases {
		var expect map[string]bool
		if i >= len(cases)-2 {
			expect = map[string]bool{"a": true, "b": true}
		}
		level, text := overall(tc.in, expect)
		if level != tc.level || text != tc.text {
			t.Errorf("overall(%v) = %v %q, want %v %q", tc.in, level, text, tc.level, tc.text)
		}
	}
}

// The whole window with one card per state (markup master), and its title
// when something failed.
func TestWindowRenders(t *testing.T) {
	u, sts := previewUI(t)
	onUI(func() {
		for _, st := range sts {
			u.statuses[st.Name] = st
			u.cards[st.Name].apply(st)
		}
		u.refreshOverall()
		u.win.Resize(fyne.NewSize(920, 1300))
		test.AssertRendersToMarkup(t, "window.xml", u.win.Canvas())
		if !strings.Contains(u.win.Title(), "reranker failed") {
			t.Errorf("window title %q does not say what failed", u.win.Title())
		}
	})
}

// A card draws the last ten minutes of CPU and memory from the metrics
// events, forgets them when the process ends, and drops what is older.
func TestSparklines(t *testing.T) {
	test.NewTempApp(t)
	c := newCard(cardDeps{now: time.Now, stderrTail: func(string, int) []string { return nil }}, "a")
	st := supervisor.Status{Name: "a", State: supervisor.Ready, PID: 42, CPUPercent: 5, RSSBytes: 10 << 20}
	c.sample(fixedNow, st)
	if c.cpuLine.raster.Visible() {
		t.Error("a sparkline with one sample is shown")
	}
	st.CPUPercent, st.RSSBytes = 50, 20<<20
	c.sample(fixedNow.Add(5*time.Second), st)
	if !c.cpuLine.raster.Visible() || !c.memLine.raster.Visible() {
		t.Fatal("sparklines hidden after two samples")
	}
	img := c.cpuLine.draw(96, 18)
	painted := 0
	for y := 0; y < 18; y++ {
		for x := 0; x < 96; x++ {
			if _, _, _, a := img.At(x, y).RGBA(); a > 0 {
				painted++
			}
		}
	}
	if painted < 2 {
		t.Errorf("the CPU sparkline painted %d pixels", painted)
	}
	c.sample(fixedNow.Add(sparkWindow+time.Minute), st)
	if n := len(c.cpuLine.samples); n != 1 {
		t.Errorf("%d samples kept past the window, want 1", n)
	}
	c.sample(fixedNow.Add(sparkWindow+2*time.Minute), supervisor.Status{Name: "a", State: supervisor.Exited})
	if c.cpuLine.raster.Visible() || len(c.memLine.samples) != 0 {
		t.Error("sparklines kept after the process ended")
	}
}

// A sparkline repaints only when its line changes: an idle sidecar's
// samples, one a second, leave it as it was (each repaint of a raster
// repaints the whole window), and a change in the readings shows at once.
func TestSparklineRepaintsOnlyOnChange(t *testing.T) {
	test.NewTempApp(t)
	s := newSparkline()
	for i := range 600 {
		s.add(fixedNow.Add(time.Duration(i)*time.Second), 12<<20)
	}
	if s.paints > 2 {
		t.Errorf("600 equal samples: %d repaints, want at most 2", s.paints)
	}
	before := s.paints
	s.add(fixedNow.Add(600*time.Second), 40<<20)
	if s.paints != before+1 {
		t.Errorf("a jump from 12 to 40 MiB: %d repaints, want 1", s.paints-before)
	}
}

// An idle sidecar's card stays still: its CPU, read each second in 10 ms
// ticks, is 0 % but for a 1 % second at each liveness probe (every 10 s,
// give or take the second the probe falls in). Shown as sampled, the label
// flickered "0%" ↔ "<1%" and the CPU line, scaled to its peak, jumped to
// full height at each probe: two repaints of the window per probe. The card
// shows a mean over cpuSmooth on a line at least cpuScale high.
func TestIdleCardStaysStill(t *testing.T) {
	test.NewTempApp(t)
	now := fixedNow
	c := newCard(cardDeps{now: func() time.Time { return now }, stderrTail: func(string, int) []string { return nil }}, "a")
	rnd := rand.New(rand.NewPCG(1, 2))
	next := 10
	labels := 0
	var paints int
	for i := range 600 {
		now = fixedNow.Add(time.Duration(i) * time.Second)
		st := supervisor.Status{Name: "a", State: supervisor.Ready, PID: 42, RSSBytes: 12 << 20}
		if i == next {
			st.CPUPercent = 1
			next += 9 + rnd.IntN(3) // the probe's second drifts against the sweep's
		}
		if i == 30 {
			paints = c.cpuLine.paints + c.memLine.paints // past the first samples
		}
		before := c.cpu.Text
		c.sample(now, st) // as UI.apply does: the sample first, then the status
		c.apply(st)
		if i >= 30 && c.cpu.Text != before {
			labels++
		}
	}
	if n := c.cpuLine.paints + c.memLine.paints - paints; n != 0 {
		t.Errorf("570 s of an idle sidecar: the sparklines repainted %d times, want 0", n)
	}
	if labels != 0 {
		t.Errorf("570 s of an idle sidecar: the CPU label changed %d times (now %q), want 0", labels, c.cpu.Text)
	}

	// A sidecar that gets busy shows it within the smoothing.
	for i := 600; i < 605; i++ {
		now = fixedNow.Add(time.Duration(i) * time.Second)
		st := supervisor.Status{Name: "a", State: supervisor.Ready, PID: 42, RSSBytes: 12 << 20, CPUPercent: 80}
		c.sample(now, st)
		c.apply(st)
	}
	if c.cpu.Text == "<1%" || c.cpuLine.paints+c.memLine.paints == paints {
		t.Errorf("5 s at 80 %%: label %q, %d repaints; want the load shown", c.cpu.Text, c.cpuLine.paints+c.memLine.paints-paints)
	}
}
