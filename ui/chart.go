package ui

import (
	"fmt"
	"image"
	"image/draw"
	"math"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// chartSize is the plot area of one chart of the resource view.
var chartSize = fyne.NewSize(520, 130)

// resourceChart is the larger view of a card's sparklines: CPU and memory
// over the last sparkWindow, with value and time axes. It reads the
// sparklines' own samples and is refreshed by the card when one arrives,
// so it is live while open and costs nothing once closed.
type resourceChart struct {
	root     fyne.CanvasObject
	cpu, mem *chartPanel
	span     *widget.Label
}

func newResourceChart(cpu, mem *sparkline) *resourceChart {
	c := &resourceChart{
		cpu: newChartPanel("CPU", cpu, false, axisPercent),
		mem: newChartPanel("Memory", mem, true, func(v float64) string { return humanBytes(uint64(v)) }),
	}
	c.span = widget.NewLabel("")
	c.span.Importance = widget.LowImportance
	c.root = container.NewVBox(c.cpu.root, c.mem.root, c.span)
	c.refresh()
	return c
}

// axisPercent writes a CPU share with at most one decimal: "2.5%", "50%".
func axisPercent(v float64) string {
	return strings.TrimSuffix(fmt.Sprintf("%.1f", v), ".0") + "%"
}

// refresh shows the samples as they are now. UI thread.
func (c *resourceChart) refresh() {
	c.cpu.refresh()
	c.mem.refresh()
	s := c.cpu.line.samples
	switch {
	case len(s) == 0:
		c.span.SetText("No samples: the process is not running.")
	default:
		first, last := s[0].at, s[len(s)-1].at
		c.span.SetText(fmt.Sprintf("%d samples over %s (window: last %s), newest at %s",
			len(s), humanDuration(last.Sub(first)), humanDuration(sparkWindow), last.Format("15:04:05")))
	}
}

// restyle repaints in the theme's colours. UI thread.
func (c *resourceChart) restyle() {
	c.cpu.restyle()
	c.mem.restyle()
}

// chartPanel is one metric: a title with the newest and peak values, the
// plot, the value axis (0, half, top) on its left and the time axis (the
// window's start, middle and end) under it.
type chartPanel struct {
	name   string
	line   *sparkline
	format func(float64) string
	bytes  bool    // the values are bytes: binary units on the axis
	top    float64 // the value at the top of the plot

	root   fyne.CanvasObject
	title  *widget.Label
	plot   *canvas.Raster
	yTicks [3]*canvas.Text // top, middle, 0
	xTicks [3]*canvas.Text // start, middle, end of the window
}

func newChartPanel(name string, line *sparkline, bytes bool, format func(float64) string) *chartPanel {
	p := &chartPanel{name: name, line: line, format: format, bytes: bytes, top: 1}
	p.title = widget.NewLabelWithStyle(name, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	p.plot = canvas.NewRaster(p.draw)
	p.plot.SetMinSize(chartSize)
	tick := func(align fyne.TextAlign) *canvas.Text {
		t := canvas.NewText("", colorOf(theme.ColorNamePlaceHolder))
		t.TextSize = theme.CaptionTextSize()
		t.Alignment = align
		return t
	}
	for i := range p.yTicks {
		p.yTicks[i] = tick(fyne.TextAlignTrailing)
		p.xTicks[i] = tick([]fyne.TextAlign{fyne.TextAlignLeading, fyne.TextAlignCenter, fyne.TextAlignTrailing}[i])
	}
	// The value axis is as tall as the plot: an empty tick under it stands
	// for the time axis' row.
	under := tick(fyne.TextAlignTrailing)
	under.Text = " "
	// Both charts' value axes are as wide as the widest tick either can
	// have, so their plots line up.
	axisW := fyne.MeasureText("1000 MB", under.TextSize, under.TextStyle).Width
	yAxis := minWidth(axisW, container.NewBorder(p.yTicks[0], container.NewVBox(p.yTicks[2], under), nil, nil,
		container.NewVBox(layout.NewSpacer(), p.yTicks[1], layout.NewSpacer())))
	xAxis := container.NewBorder(nil, nil, p.xTicks[0], p.xTicks[2], p.xTicks[1])
	plot := container.NewBorder(nil, xAxis, nil, nil, p.plot)
	p.root = container.NewBorder(p.title, nil, container.NewPadded(yAxis), nil, plot)
	return p
}

// refresh sets the axes and the title from the samples and repaints. UI
// thread.
func (p *chartPanel) refresh() {
	s := p.line.samples
	if len(s) == 0 {
		p.title.SetText(p.name + " — no samples")
		for i := range p.yTicks {
			p.setTick(p.yTicks[i], "")
			p.setTick(p.xTicks[i], "")
		}
		p.plot.Refresh()
		return
	}
	pk := peak(s)
	p.top = niceCeil(pk, p.bytes)
	p.title.SetText(fmt.Sprintf("%s — now %s, peak %s", p.name, p.format(s[len(s)-1].val), p.format(pk)))
	p.setTick(p.yTicks[0], p.format(p.top))
	p.setTick(p.yTicks[1], p.format(p.top/2))
	p.setTick(p.yTicks[2], p.format(0))
	end, span := s[len(s)-1].at, shownSpan(s, time.Minute)
	for i, t := range []time.Time{end.Add(-span), end.Add(-span / 2), end} {
		p.setTick(p.xTicks[i], t.Format("15:04:05"))
	}
	p.plot.Refresh()
}

func (p *chartPanel) setTick(t *canvas.Text, s string) {
	if t.Text != s {
		t.Text = s
		t.Refresh()
	}
}

func (p *chartPanel) restyle() {
	for i := range p.yTicks {
		p.yTicks[i].Color = colorOf(theme.ColorNamePlaceHolder)
		p.xTicks[i].Color = colorOf(theme.ColorNamePlaceHolder)
		p.yTicks[i].Refresh()
		p.xTicks[i].Refresh()
	}
	p.plot.Refresh()
}

// draw paints the grid (0, half, top; a quarter of the window apart
// across) and the samples scaled to the axis' top.
func (p *chartPanel) draw(w, h int) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.Transparent, image.Point{}, draw.Src)
	if w < 2 || h < 2 {
		return img
	}
	grid := solid(colorOf(theme.ColorNameSeparator))
	for _, y := range []int{0, (h - 1) / 2, h - 1} {
		line(img, 0, y, w-1, y, grid)
	}
	for i := 0; i <= 4; i++ {
		x := i * (w - 1) / 4
		line(img, x, 0, x, h-1, grid)
	}
	if s := p.line.samples; len(s) >= 2 {
		plot(img, s, p.top, shownSpan(s, time.Minute), solid(p.line.col))
	}
	return img
}

// niceCeil rounds v up to a round axis top: 1, 2, 2.5 or 5 times a power
// of ten; for bytes the same in the largest binary unit below v (50 MB,
// not 52 428 800).
func niceCeil(v float64, bytes bool) float64 {
	if v <= 0 {
		return 1
	}
	unit := 1.0
	for bytes && v/unit >= 1024 {
		unit *= 1024
	}
	n := v / unit
	pow := math.Pow(10, math.Floor(math.Log10(n)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*pow >= n {
			return m * pow * unit
		}
	}
	return 10 * pow * unit
}
