package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"outrigger/core/autostart"
)

// NewAutostartCheck is Settings' "Start Outrigger at login" switch. It
// shows whether the login entry exists now (the user may have removed it
// in the desktop's own settings) and writes or removes it at once: it is
// not part of outrigger.toml, so Save and Revert do not apply. If that
// fails the box goes back to the truth and the error is shown. UI thread.
func NewAutostartCheck(win fyne.Window) *widget.Check {
	c := widget.NewCheck("Start Outrigger at login", nil)
	on, _ := autostart.Enabled() // unreadable reads as off; turning it on says why it fails
	c.SetChecked(on)
	var onChanged func(bool)
	onChanged = func(want bool) {
		err := autostart.Disable()
		if want {
			err = autostart.Enable()
		}
		if err == nil {
			return
		}
		now, _ := autostart.Enabled()
		c.OnChanged = nil // putting the box back is not a new request
		c.SetChecked(now)
		c.OnChanged = onChanged
		dialog.ShowError(err, win)
	}
	c.OnChanged = onChanged
	return c
}
