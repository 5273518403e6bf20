package workflows

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
)

// quietSplit shows s without Fyne's grip on its divider: a short bar in
// the text colour, which beside the outputs read as a text caret. The
// divider keeps its band, its hover highlight and its resize cursor.
// Fyne draws the grip in the divider's theme's foreground colour, so the
// split gets a theme without one, and its two sides the app's theme back.
func quietSplit(s *container.Split) fyne.CanvasObject {
	s.Leading = container.NewThemeOverride(s.Leading, appTheme{})
	s.Trailing = container.NewThemeOverride(s.Trailing, appTheme{})
	return container.NewThemeOverride(s, gripless{})
}

// appTheme is whatever theme the app uses at the moment of asking.
type appTheme struct{}

func (appTheme) cur() fyne.Theme { return fyne.CurrentApp().Settings().Theme() }

func (a appTheme) Color(n fyne.ThemeColorName, v fyne.ThemeVariant) color.Color {
	return a.cur().Color(n, v)
}
func (a appTheme) Font(s fyne.TextStyle) fyne.Resource     { return a.cur().Font(s) }
func (a appTheme) Icon(n fyne.ThemeIconName) fyne.Resource { return a.cur().Icon(n) }
func (a appTheme) Size(n fyne.ThemeSizeName) float32       { return a.cur().Size(n) }

// gripless is the app's theme with a transparent foreground: only a
// split's divider is drawn with it.
type gripless struct{ appTheme }

func (g gripless) Color(n fyne.ThemeColorName, v fyne.ThemeVariant) color.Color {
	if n == theme.ColorNameForeground {
		return color.Transparent
	}
	return g.appTheme.Color(n, v)
}
