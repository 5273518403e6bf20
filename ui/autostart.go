package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"outrigger/core/autostart"
)

// NewAutostartCheck is a "Start Outrigger at login" switch whose errors
// are shown in a dialog over win (see loginSwitch). UI thread.
func NewAutostartCheck(win fyne.Window) *widget.Check {
	return newLoginSwitch(func(err error) {
		if err != nil {
			dialog.ShowError(err, win)
		}
	}).check
}

// loginSwitch is the "Start Outrigger at login" switch. It shows whether
// the login entry exists now (the user may have removed it in the
// desktop's own settings) and writes or removes it at once: it is not part
// of outrigger.toml, so Save and Revert do not apply. If that fails the
// box goes back to the truth and report is given the error; report(nil)
// follows a change that worked. UI thread.
type loginSwitch struct {
	check     *widget.Check
	report    func(error)
	onChanged func(bool)
}

func newLoginSwitch(report func(error)) *loginSwitch {
	l := &loginSwitch{check: widget.NewCheck("Start Outrigger at login", nil), report: report}
	l.onChanged = func(want bool) {
		err := autostart.Disable()
		if want {
			err = autostart.Enable()
		}
		if err != nil {
			l.sync()
		}
		l.report(err)
	}
	l.sync()
	return l
}

// sync shows whether the entry exists, without changing it.
func (l *loginSwitch) sync() {
	on, _ := autostart.Enabled() // unreadable reads as off; turning it on says why it fails
	l.check.OnChanged = nil      // showing the truth is not a new request
	l.check.SetChecked(on)
	l.check.OnChanged = l.onChanged
}
