package ui

import (
	"context"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"

	"outrigger/core/config"
	"outrigger/core/logs"
	"outrigger/core/supervisor"
)

// What each component is given of the app: the UI owns the core's
// handles, the window and the newest statuses, and hands out only the
// parts a component uses (see cardDeps).

// status is the newest applied status of a sidecar. UI thread.
func (u *UI) status(name string) (supervisor.Status, bool) {
	st, ok := u.statuses[name]
	return st, ok
}

// settings is the configuration as saved now: the store's when there is
// one, else the one the app started with.
func (u *UI) settings() config.Config {
	if u.d.Store != nil {
		return u.d.Store.Config()
	}
	return u.d.Config.Clone()
}

// spec is name's spec as the settings file has it, else as the
// supervisor runs it (a sidecar not in the file), else from the
// configuration the app started with.
func (u *UI) spec(name string) (config.Spec, bool) {
	if u.d.Store != nil {
		if sp, ok := u.d.Store.Config().Sidecar(name); ok {
			return sp, true
		}
	}
	if u.d.Sup != nil {
		if sp, ok := u.d.Sup.Spec(name); ok {
			return sp, true
		}
	}
	return u.d.Config.Sidecar(name)
}

// removed reports whether name, supervised by this run, has left the
// settings file: it is not in the store's config and the file has no
// entry for it (an entry with enabled = false is still there to edit).
func (u *UI) removed(name string) bool {
	if u.d.Store == nil {
		return false
	}
	if _, ok := u.d.Store.Config().Sidecar(name); ok {
		return false
	}
	_, ok := u.d.Store.Entry(name)
	return !ok
}

// anyRunning reports whether a local sidecar runs or is about to. UI
// thread.
func (u *UI) anyRunning() bool {
	for _, st := range u.statuses {
		if st.State.HasProcess() || st.State == supervisor.Backoff {
			return true
		}
	}
	return false
}

// afterApplied runs the tests' hook, if any. UI thread.
func (u *UI) afterApplied() {
	if u.applied != nil {
		u.applied()
	}
}

func (u *UI) modeDeps() modeDeps {
	return modeDeps{
		mc:         u.d.Modes,
		settings:   u.settings,
		store:      u.d.Store,
		tokenSaved: u.syncWorkflows,
		do:         u.do,
		applied: func() {
			u.refreshOverall()
			u.syncWorkflows()
			if u.tray != nil {
				u.tray.refresh()
			}
			u.afterApplied()
		},
		fellBack: func(reason string) {
			if u.notes != nil {
				u.notes.fellBack(reason)
			}
		},
		quitting: func() bool { return u.quitting },
		confirm:  func(title, msg string, then func(bool)) { u.confirm(title, msg, then) },
		focus: func(f fyne.Focusable) {
			if u.win != nil {
				u.win.Canvas().Focus(f)
			}
		},
		anyRunning: u.anyRunning,
	}
}

func (u *UI) logsDeps() logsDeps {
	return logsDeps{
		names:  u.names,
		logDir: u.logDir(),
		ring: func(name string) *logs.Ring {
			if u.d.Sup == nil {
				return nil
			}
			return u.d.Sup.Logs(name)
		},
		logFile: func(name string) string {
			if u.d.Sup == nil {
				return ""
			}
			st, _ := u.d.Sup.Status(name)
			return st.LogFile
		},
		openFolder: u.openLogFolder,
		copy:       func(s string) { u.app.Clipboard().SetContent(s) },
		do:         u.do,
		done:       u.done,
		applied:    u.afterApplied,
	}
}

func (u *UI) settingsDeps() settingsDeps {
	return settingsDeps{
		names:      u.names,
		store:      u.d.Store,
		spec:       u.spec,
		config:     u.settings,
		removed:    u.removed,
		configFile: u.d.ConfigFile,
		status:     u.status,
		restart: func(ctx context.Context, name string) error {
			return u.d.Sup.Restart(ctx, name)
		},
		do:           u.do,
		showError:    u.showError,
		confirm:      func(title, msg string, then func(bool)) { u.confirm(title, msg, then) },
		win:          u.win,
		loginChanged: u.loginChanged,
	}
}

func (u *UI) trayDeps() trayDeps {
	d := trayDeps{
		overall:    u.overall,
		statuses:   u.snapshot,
		quitting:   func() bool { return u.quitting },
		command:    u.trayCommand,
		showLogs:   u.showLogs,
		showWindow: u.showWindow,
		show:       u.Show,
		startAll:   u.startAll,
		stopAll:    u.stopAll,
		diagnose:   u.saveDiagnostics,
		quit:       u.requestQuit,
	}
	if u.modeSw != nil {
		d.modes = u.modeSw
	}
	return d
}

// showChart shows a card's resource chart in a dialog. UI thread.
func (u *UI) showChart(title string, body fyne.CanvasObject, closed func()) {
	if u.win == nil {
		closed()
		return
	}
	d := dialog.NewCustom(title, "Close", body, u.win)
	d.SetOnClosed(closed)
	d.Show()
}
