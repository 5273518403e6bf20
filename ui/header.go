package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// header is the band at the top: the app's name, the overall health, and
// the mode switcher.
type header struct {
	root    *fyne.Container
	bg      *canvas.Rectangle
	icon    *widget.Icon
	title   *canvas.Text
	pill    *pill
	summary *canvas.Text
	level   Overall
	styled  bool
}

// newHeader makes the band with the app's icon; modeRow (the mode
// switcher, nil without a mode controller) goes under the title.
func newHeader(icon fyne.Resource, modeRow fyne.CanvasObject) *header {
	h := &header{}
	h.bg = canvas.NewRectangle(colorOf(theme.ColorNameHeaderBackground))
	h.icon = widget.NewIcon(icon)
	h.title = canvas.NewText("Outrigger", colorOf(theme.ColorNameForeground))
	h.title.TextStyle = fyne.TextStyle{Bold: true}
	h.title.TextSize = theme.TextHeadingSize()
	h.summary = canvas.NewText("", colorOf(theme.ColorNameForeground))
	h.pill = newPill()
	iconBox := container.New(&fixedSize{size: fyne.NewSize(32, 32)}, h.icon)
	// A gap between the sentence and the badge, so the two never touch.
	gap := container.New(&fixedSize{size: fyne.NewSize(theme.Padding()*2, 1)})
	top := container.NewHBox(iconBox, container.NewCenter(h.title), layout.NewSpacer(),
		container.NewCenter(h.summary), gap, container.NewCenter(h.pill.root))
	rows := container.NewVBox(top)
	if modeRow != nil {
		rows.Add(modeRow)
	}
	h.root = container.NewStack(h.bg, container.NewPadded(container.NewPadded(rows)))
	h.setOverall(OverallIdle, "No service running")
	return h
}

func (h *header) setOverall(level Overall, text string) {
	if h.styled && level == h.level && text == h.summary.Text {
		return // unchanged: no repaint
	}
	h.styled = true
	h.level = level
	look := overallLook(level)
	h.pill.set(look)
	h.summary.Text = text
	h.summary.Color = colorOf(theme.ColorNameForeground)
	h.summary.Refresh()
	h.bg.FillColor = colorOf(theme.ColorNameHeaderBackground)
	h.bg.Refresh()
	h.title.Color = colorOf(theme.ColorNameForeground)
	h.title.Refresh()
}

// appIcon is the app's icon, or a theme icon when it has none.
func appIcon(a fyne.App) fyne.Resource {
	if a != nil && a.Icon() != nil {
		return a.Icon()
	}
	return appIconRes
}
