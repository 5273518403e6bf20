package ui

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/software"
)

// ScreenshotEnv asks the app for pictures of its window once every
// sidecar is Ready (or after screenshotDeadline whatever the state): a
// path ending in .png gets the window as it is; any other path is a
// folder that gets one picture per tab at 1024 × 600 (services.png,
// logs.png, settings.png, workflows.png). The end-to-end test uses it:
// capturing an X11 screen from Go needs no extra tool this way.
const ScreenshotEnv = "OUTRIGGER_SCREENSHOT"

const (
	screenshotDeadline = 90 * time.Second
	screenshotSettle   = 800 * time.Millisecond // frames to render a state or a tab
)

// ShotSize is the window size of the per-tab pictures: a small laptop.
var ShotSize = fyne.NewSize(1024, 600)

// armScreenshot starts waiting for the moment to take the picture.
func (u *UI) armScreenshot() {
	path := os.Getenv(ScreenshotEnv)
	if path == "" {
		return
	}
	u.shotPath = path
	time.AfterFunc(screenshotDeadline, func() { u.do(func() { u.takeScreenshot("deadline") }) })
}

// maybeScreenshot is called after each batch of events with the overall
// level. UI thread.
func (u *UI) maybeScreenshot(level Overall) {
	if u.shotPath == "" || u.shotArmed {
		return
	}
	u.shotReady = level == OverallReady
	u.armShot()
}

// shotSampled is called after a metrics sample reached a card. UI thread.
func (u *UI) shotSampled() {
	if u.shotPath != "" && !u.shotArmed {
		u.armShot()
	}
}

// armShot takes the pictures a moment after everything is Ready; the
// per-tab pictures also wait until every running sidecar's card draws its
// sparklines (two samples each), to show the cards as a user sees them.
func (u *UI) armShot() {
	if !u.shotReady {
		return
	}
	for name, c := range u.cards {
		if strings.HasSuffix(u.shotPath, ".png") {
			break // the window as it is
		}
		if st := u.statuses[name]; st.State.HasProcess() && (!c.cpuLine.raster.Visible() || !c.memLine.raster.Visible()) {
			return
		}
	}
	u.shotArmed = true
	time.AfterFunc(screenshotSettle, func() { u.do(func() { u.takeScreenshot("ready") }) })
}

// takeScreenshot writes the picture(s), once. UI thread.
func (u *UI) takeScreenshot(why string) {
	if u.shotPath == "" || u.shotDone || u.win == nil {
		return
	}
	u.shotDone = true
	if strings.HasSuffix(u.shotPath, ".png") {
		u.writeShot(u.shotPath, u.captureWindow(), why)
		return
	}
	if err := os.MkdirAll(u.shotPath, 0o755); err != nil {
		u.log.Error("screenshot", "dir", u.shotPath, "err", err)
		return
	}
	u.win.Resize(ShotSize)
	u.shootTab(0, why)
}

// shootTab shows tab i, lets it render, pictures it, then goes on with
// the next. UI thread.
func (u *UI) shootTab(i int, why string) {
	if i >= len(u.tabs.Items) {
		u.tabs.SelectIndex(0)
		return
	}
	u.tabs.SelectIndex(i)
	time.AfterFunc(screenshotSettle, func() {
		u.do(func() {
			name := strings.ToLower(u.tabs.Items[i].Text) + ".png"
			u.writeShot(filepath.Join(u.shotPath, name), u.captureWindow(), why)
			u.shootTab(i+1, why)
		})
	})
}

// writeShot encodes img to path atomically, off the UI thread.
func (u *UI) writeShot(path string, img image.Image, why string) {
	go func() {
		tmp, err := os.CreateTemp(filepath.Dir(path), ".shot-*.png")
		if err == nil {
			err = png.Encode(tmp, img)
			if cerr := tmp.Close(); err == nil {
				err = cerr
			}
			if err == nil {
				err = os.Rename(tmp.Name(), path)
			} else {
				os.Remove(tmp.Name())
			}
		}
		if err != nil {
			u.log.Error("screenshot", "path", path, "err", err)
			return
		}
		u.log.Info("screenshot written", "path", path, "when", why)
	}()
}

// captureWindow pictures the window: the GPU's own frame when the driver
// can read it back, else the same content painted by Fyne's software
// painter (Mesa's llvmpipe under Xvfb reads back an empty front buffer).
// UI thread.
func (u *UI) captureWindow() image.Image {
	if img, ok := opaque(u.win.Canvas().Capture()); ok {
		return img
	}
	c := u.win.Canvas()
	content := c.Content()
	sc := software.NewCanvas()
	sc.SetPadded(false)
	sc.Resize(c.Size())
	sc.SetContent(content)
	img := sc.Capture()
	u.win.SetContent(content) // give the content back to the window
	return img
}

// opaque returns img with full alpha (a GL front buffer's alpha means
// nothing), or false when img is blank: every pixel the same.
func opaque(img image.Image) (image.Image, bool) {
	if img == nil {
		return nil, false
	}
	b := img.Bounds()
	if b.Empty() {
		return nil, false
	}
	out := image.NewNRGBA(b)
	first := color.NRGBAModel.Convert(img.At(b.Min.X, b.Min.Y)).(color.NRGBA)
	first.A = 255
	blank := true
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bb, _ := img.At(x, y).RGBA()
			px := color.NRGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(bb >> 8), A: 255}
			if px != first {
				blank = false
			}
			out.SetNRGBA(x, y, px)
		}
	}
	return out, !blank
}
