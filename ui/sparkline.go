package ui

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// sparkWindow is how far back a card's sparklines reach.
const sparkWindow = 10 * time.Minute

// sparkSize is a sparkline's size on the card.
var sparkSize = fyne.NewSize(96, 18)

// sample is one metrics reading.
type sample struct {
	at  time.Time
	val float64
}

// sparkline draws the last sparkWindow of one metric as a small line, from
// the samples the watchdog already takes (metrics events): no timer of its
// own, and a repaint only when a sample changes the line. Samples come
// every second while the window shows; at 96 px for up to ten minutes most
// of them move the line by less than a pixel, and every repaint of one
// raster repaints the whole window (a few ms of a core under a software GL).
type sparkline struct {
	samples []sample
	raster  *canvas.Raster
	tap     *tapArea // the raster, tappable: the card puts this in its layout
	col     color.Color
	shown   []byte // the line as last painted, at sparkSize
	paints  int    // repaints asked for (a test counts them)

	smooth time.Duration // each point drawn is the mean of the samples this far back (0: as sampled)
	least  float64       // the line's top is at least this (0: its peak)
}

func newSparkline() *sparkline {
	s := &sparkline{col: colorOf(theme.ColorNamePrimary)}
	s.raster = canvas.NewRaster(s.draw)
	s.raster.SetMinSize(sparkSize)
	s.raster.Hide()
	s.tap = newTapArea(s.raster)
	s.tap.Hide()
	return s
}

// tapArea makes its content tappable, with a pointing-hand cursor.
type tapArea struct {
	widget.BaseWidget
	content fyne.CanvasObject
	onTap   func()
}

func newTapArea(content fyne.CanvasObject) *tapArea {
	t := &tapArea{content: content}
	t.ExtendBaseWidget(t)
	return t
}

func (t *tapArea) CreateRenderer() fyne.WidgetRenderer { return widget.NewSimpleRenderer(t.content) }

func (t *tapArea) Tapped(*fyne.PointEvent) {
	if t.onTap != nil {
		t.onTap()
	}
}

func (t *tapArea) Cursor() desktop.Cursor { return desktop.PointerCursor }

// add records a reading and repaints. UI thread.
func (s *sparkline) add(at time.Time, v float64) {
	s.samples = append(s.samples, sample{at, v})
	cut := 0
	for cut < len(s.samples) && at.Sub(s.samples[cut].at) > sparkWindow {
		cut++
	}
	if cut > 0 {
		s.samples = append(s.samples[:0], s.samples[cut:]...)
	}
	if len(s.samples) >= 2 {
		if !s.raster.Visible() {
			s.raster.Show()
			s.tap.Show()
		}
		// Compared at the card's size in points: on a high-DPI screen the
		// line may wait for a change of a whole point, not of a pixel.
		img := s.draw(int(sparkSize.Width), int(sparkSize.Height)).(*image.NRGBA)
		if !bytes.Equal(img.Pix, s.shown) {
			s.shown = img.Pix
			s.paints++
			s.raster.Refresh()
		}
	}
}

// clear forgets the readings (the process ended). UI thread.
func (s *sparkline) clear() {
	if len(s.samples) == 0 {
		return
	}
	s.samples = s.samples[:0]
	s.shown = nil
	s.raster.Hide()
	s.tap.Hide()
}

func (s *sparkline) restyle() {
	s.col = colorOf(theme.ColorNamePrimary)
	s.shown = nil
	if s.raster.Visible() {
		s.raster.Refresh()
	}
}

// draw paints the samples over the time they span (at most sparkWindow)
// ending at the newest one, scaled to their own maximum.
func (s *sparkline) draw(w, h int) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.Transparent, image.Point{}, draw.Src)
	if len(s.samples) < 2 || w < 2 || h < 2 {
		return img
	}
	points := s.samples
	if s.smooth > 0 { // a window sliding over the samples: each point the mean of the last smooth
		points = make([]sample, len(s.samples))
		sum, lo := 0.0, 0
		for i, p := range s.samples {
			sum += p.val
			for lo < i && p.at.Sub(s.samples[lo].at) >= s.smooth {
				sum -= s.samples[lo].val
				lo++
			}
			points[i] = sample{p.at, sum / float64(i-lo+1)}
		}
	}
	plot(img, points, max(peak(points), s.least), shownSpan(points, 0), solid(s.col))
	return img
}

// recent is the mean of the samples of the last smooth before now; ok is
// false with none (none taken lately: the window was hidden).
func (s *sparkline) recent(now time.Time) (v float64, ok bool) {
	var sum float64
	n := 0
	for i := len(s.samples) - 1; i >= 0 && now.Sub(s.samples[i].at) < s.smooth; i-- {
		sum += s.samples[i].val
		n++
	}
	if n == 0 {
		return 0, false
	}
	return sum / float64(n), true
}

// peak is the largest value of samples, or 1 when none is above zero.
func peak(samples []sample) float64 {
	var top float64
	for _, p := range samples {
		top = max(top, p.val)
	}
	if top <= 0 {
		top = 1
	}
	return top
}

func solid(col color.Color) color.NRGBA {
	r, g, b, _ := col.RGBA()
	return color.NRGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), 255}
}

// shownSpan is how much time a plot spans: the samples' own (so a card
// draws a whole line from its first seconds on), but at least least and
// at most sparkWindow.
func shownSpan(samples []sample, least time.Duration) time.Duration {
	d := samples[len(samples)-1].at.Sub(samples[0].at)
	return min(max(d, least), sparkWindow)
}

// plot draws samples as a line two pixels thick over img: span ending at
// the newest sample across, 0 to top upwards.
func plot(img *image.NRGBA, samples []sample, top float64, span time.Duration, c color.NRGBA) {
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	if span <= 0 {
		span = time.Second
	}
	last := samples[len(samples)-1].at
	point := func(p sample) (int, int) {
		x := int(float64(w-1) * (1 - float64(last.Sub(p.at))/float64(span)))
		y := h - 1 - int(float64(h-2)*min(p.val, top)/top)
		return x, y
	}
	px, py := point(samples[0])
	for _, p := range samples[1:] {
		x, y := point(p)
		line(img, px, py, x, y, c)
		line(img, px, py-1, x, y-1, c)
		px, py = x, y
	}
}

// line draws from (x0,y0) to (x1,y1) (Bresenham).
func line(img *image.NRGBA, x0, y0, x1, y1 int, c color.NRGBA) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := 1, 1
	if x0 > x1 {
		sx = -1
	}
	if y0 > y1 {
		sy = -1
	}
	e := dx + dy
	for {
		img.SetNRGBA(x0, y0, c)
		if x0 == x1 && y0 == y1 {
			return
		}
		if e2 := 2 * e; e2 >= dy {
			e += dy
			x0 += sx
		} else {
			e += dx
			y0 += sy
		}
	}
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
