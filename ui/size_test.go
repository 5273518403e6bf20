package ui

import (
	"errors"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// The window fits a 1024 × 600 screen on every tab, with the header at its
// tallest (gateway row, a long message, a mode change under way), and it
// never grows by itself: a dialog leaves its size alone.
func TestWindowFits1024x600(t *testing.T) {
	r := newRig(t, &rigOpts{modes: true}, fixtureSpec(t, "alpha"), fixtureSpec(t, "beta"))
	limit := fyne.NewSize(1024, 600)
	onUI(func() {
		u := r.ui
		u.win.Resize(limit)
		m := u.modeSw
		m.wantGW = true
		m.ours++ // a change under way: the progress row shows
		m.say(theme.WarningIcon(), "Could not switch to Connected: "+strings.Repeat("the gateway did not answer ", 4))
		m.render()
		// A line far wider than the window on a tab (a long error, say).
		u.logs.status.Truncation = fyne.TextTruncateOff
		u.logs.status.SetText(strings.Repeat("a very long status line ", 20))
		for _, it := range u.tabs.Items {
			u.tabs.Select(it)
			if got := u.win.Content().MinSize(); got.Width > limit.Width || got.Height > limit.Height {
				t.Errorf("%s tab: the window needs %v, more than %v", it.Text, got, limit)
			}
		}
		before := u.win.Canvas().Size()
		u.showError("Could not start alpha", errors.New(strings.Repeat("a long reason ", 30)))
		if after := u.win.Canvas().Size(); after != before {
			t.Errorf("a dialog resized the window from %v to %v", before, after)
		}
		m.ours--
		m.render()
	})
}
