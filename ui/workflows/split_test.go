package workflows

import (
	"image"
	"image/color"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// The divider of the tab's splits has no grip in the text colour (it read
// as a text caret), while the two sides still draw their text in it.
func TestQuietSplitHasNoGrip(t *testing.T) {
	test.NewTempApp(t)
	fg := color.NRGBAModel.Convert(theme.Current().Color(theme.ColorNameForeground, fyne.CurrentApp().Settings().ThemeVariant()))
	// inText counts the pixels of the text colour in r of the window
	// showing o.
	inText := func(o fyne.CanvasObject, r image.Rectangle) int {
		w := test.NewTempWindow(t, o)
		w.SetPadded(false)
		w.Resize(fyne.NewSize(400, 200))
		img := w.Canvas().Capture()
		n := 0
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				if color.NRGBAModel.Convert(img.At(x, y)) == fg {
					n++
				}
			}
		}
		return n
	}
	split := func() *container.Split {
		return container.NewHSplit(widget.NewLabel("Stream"), widget.NewLabel("Stored result"))
	}
	divider := image.Rect(190, 60, 210, 140) // the middle of the divider
	if n := inText(split(), divider); n == 0 {
		t.Fatal("self-check: Fyne's own split shows no grip to remove")
	}
	if n := inText(quietSplit(split()), divider); n != 0 {
		t.Errorf("the divider has %d pixels of the text colour", n)
	}
	if n := inText(quietSplit(split()), image.Rect(0, 0, 400, 40)); n == 0 {
		t.Error("the sides' labels are not drawn in the text colour")
	}
}
