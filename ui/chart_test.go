package ui

import (
	"image/color"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"outrigger/core/supervisor"
	"outrigger/core/watchdog"
)

// A tap on a card's sparkline opens the larger chart: it draws the real
// samples the watchdog takes of a running sidecar, with value and time
// axes, follows new samples while open, and is gone (the card no longer
// feeds it) once closed.
func TestResourceChart(t *testing.T) {
	r := newRig(t, nil, fixtureSpec(t, "alpha", "-leak-mb-per-sec", "2"))
	c := r.ui.cards["alpha"]
	onUI(func() { test.Tap(c.start) })
	r.cardState("alpha", supervisor.Ready)
	wd := watchdog.New(r.sup, time.Second, slog.New(slog.NewTextHandler(io.Discard, nil)))
	// Each sweep reads the process once; its memory grows, so each one is
	// a new metrics event.
	samplesAtLeast := func(n int) {
		t.Helper()
		deadline := time.Now().Add(wait)
		for {
			var got int
			onUI(func() { got = len(c.memLine.samples) })
			if got >= n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d memory samples after %v, want %d", got, wait, n)
			}
			wd.Sweep()
			select {
			case <-r.wake:
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	samplesAtLeast(3)

	var ch *resourceChart
	onUI(func() {
		if !c.memLine.tap.Visible() {
			t.Fatal("the memory sparkline is hidden with samples")
		}
		test.Tap(c.memLine.tap)
		ch = c.chart
		if ch == nil || r.ui.win.Canvas().Overlays().Top() == nil {
			t.Fatal("a tap on the sparkline opened no chart")
		}
		test.Tap(c.cpuLine.tap) // a second tap does not open a second one
		if len(r.ui.win.Canvas().Overlays().List()) != 1 {
			t.Errorf("%d overlays after two taps", len(r.ui.win.Canvas().Overlays().List()))
		}
		s := c.memLine.samples
		newest := s[len(s)-1]
		if !strings.HasPrefix(ch.mem.title.Text, "Memory — now "+humanBytes(uint64(newest.val))) {
			t.Errorf("memory title %q", ch.mem.title.Text)
		}
		if ch.mem.top < peak(s) || ch.mem.yTicks[0].Text != humanBytes(uint64(ch.mem.top)) || ch.mem.yTicks[2].Text != "0 B" {
			t.Errorf("memory axis %q…%q for a peak of %v", ch.mem.yTicks[2].Text, ch.mem.yTicks[0].Text, peak(s))
		}
		if got, want := ch.mem.xTicks[2].Text, newest.at.Format("15:04:05"); got != want {
			t.Errorf("time axis ends at %q, want the newest sample's %q", got, want)
		}
		if got, want := ch.mem.xTicks[0].Text, newest.at.Add(-shownSpan(s, time.Minute)).Format("15:04:05"); got != want {
			t.Errorf("time axis starts at %q, want %q", got, want)
		}
		// The window, rendered: the memory plot has the line's colour in it.
		img := r.ui.win.Canvas().Capture()
		pos := fyne.CurrentApp().Driver().AbsolutePositionForObject(ch.mem.plot)
		size := ch.mem.plot.Size()
		line := solid(colorOf(theme.ColorNamePrimary))
		painted := 0
		// (A pixel's margin: the plot sits at fractional coordinates.)
		for y := int(pos.Y) - 1; y <= int(pos.Y+size.Height)+1; y++ {
			for x := int(pos.X) - 1; x <= int(pos.X+size.Width)+1; x++ {
				if color.NRGBAModel.Convert(img.At(x, y)) == line {
					painted++
				}
			}
		}
		// Seconds apart on an axis of at least a minute: a short line at
		// the right edge.
		if painted < 2 {
			t.Errorf("the rendered memory plot (%v at %v) has %d pixels of the line", size, pos, painted)
		}
	})

	// Live: a new sample shows while open.
	var before string
	var n int
	onUI(func() { before, n = ch.span.Text, len(c.memLine.samples) })
	samplesAtLeast(n + 1)
	onUI(func() {
		if ch.span.Text == before || !strings.HasPrefix(ch.span.Text, strings.Split(ch.span.Text, " ")[0]) {
			t.Errorf("the chart did not follow a new sample: %q", ch.span.Text)
		}
		if !strings.Contains(ch.span.Text, " samples over ") {
			t.Errorf("span %q", ch.span.Text)
		}
		closeBtn := find(r.ui.win.Canvas().Overlays().Top(), func(b *widget.Button) bool { return b.Text == "Close" })
		if closeBtn == nil {
			t.Fatal("no Close button")
		}
		test.Tap(closeBtn)
		if c.chart != nil || r.ui.win.Canvas().Overlays().Top() != nil {
			t.Error("the chart is still open after Close")
		}
		before = ch.span.Text
	})
	onUI(func() { n = len(c.memLine.samples) })
	samplesAtLeast(n + 1)
	onUI(func() {
		if ch.span.Text != before {
			t.Error("a closed chart is still fed")
		}
	})
}

// The chart itself, drawn from fixed samples (image master).
func TestResourceChartRenders(t *testing.T) {
	test.NewTempApp(t)
	cpu, mem := newSparkline(), newSparkline()
	for i := range 40 {
		at := fixedNow.Add(time.Duration(i) * 15 * time.Second)
		cpu.add(at, float64(10+(i*37)%60)/3)
		mem.add(at, float64(40<<20+i*(1<<20)))
	}
	ch := newResourceChart(cpu, mem)
	w := test.NewTempWindow(t, ch.root)
	w.Resize(fyne.NewSize(600, 420))
	if ch.cpu.yTicks[0].Text != "25%" || ch.cpu.yTicks[1].Text != "12.5%" {
		t.Errorf("CPU axis top %q, middle %q for a peak of %v", ch.cpu.yTicks[0].Text, ch.cpu.yTicks[1].Text, peak(cpu.samples))
	}
	if ch.mem.yTicks[0].Text != "100 MB" {
		t.Errorf("memory axis top %q for a peak of %s", ch.mem.yTicks[0].Text, humanBytes(uint64(peak(mem.samples))))
	}
	test.AssertRendersToImage(t, "chart.png", w.Canvas())
}

func TestNiceCeil(t *testing.T) {
	for _, tc := range []struct {
		v     float64
		bytes bool
		want  float64
	}{
		{0, false, 1}, {0.3, false, 0.5}, {1, false, 1}, {3, false, 5}, {12, false, 20}, {23, false, 25}, {180, false, 200},
		{900, true, 1000}, {48 << 20, true, 50 << 20}, {3 << 30, true, 5 << 30}, {1100 << 20, true, 2 << 30},
	} {
		if got := niceCeil(tc.v, tc.bytes); got != tc.want {
			t.Errorf("niceCeil(%v, %v) = %v, want %v", tc.v, tc.bytes, got, tc.want)
		}
	}
}
