package ui

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"

	"outrigger/core/diagnostics"
)

// SaveDiagnostics asks where to save a diagnostics report and writes it
// there (Help → Save diagnostics…, and the tray). options is called when
// the user has chosen, so the report holds the state of that moment. The
// report is gathered and written on its own goroutine, which ends when it
// is saved; the outcome is shown in a dialog and then passed to done (may
// be nil; on the UI thread), e.g. to log where it went.
func SaveDiagnostics(win fyne.Window, options func() diagnostics.Options, done func(where string, err error)) {
	d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil {
			dialog.ShowError(fmt.Errorf("save diagnostics: %w", err), win)
			return
		}
		if w == nil {
			return // cancelled
		}
		saveDiagnosticsTo(win, w, options(), done)
	}, win)
	d.SetFileName(diagnostics.FileName(time.Now()))
	d.SetFilter(storage.NewExtensionFileFilter([]string{".zip"}))
	d.Show()
}

// saveDiagnosticsTo writes the report to the place the dialog opened. A
// local file is replaced atomically by its path (the dialog has already
// created it, empty); anything else (a portal's URI) is written through w.
func saveDiagnosticsTo(win fyne.Window, w fyne.URIWriteCloser, o diagnostics.Options, done func(string, error)) {
	u := w.URI()
	go func() {
		var err error
		where := u.String()
		if u.Scheme() == "file" {
			where = u.Path()
			err = w.Close()
			if err == nil {
				err = diagnostics.Save(where, o)
			}
			if err != nil {
				removeIfEmpty(where)
			}
		} else {
			err = errors.Join(diagnostics.Write(w, o), w.Close())
		}
		runOnUI(func() {
			if err != nil {
				dialog.ShowError(fmt.Errorf("could not save diagnostics to %s: %w", where, err), win)
			} else {
				dialog.ShowInformation("Diagnostics saved",
					"Saved to "+where+".\nAttach it to your bug report. Secrets in the configuration and\n"+
						"the logs are masked, but look it over before you share it.", win)
			}
			if done != nil {
				done(where, err)
			}
		})
	}()
}

// removeIfEmpty removes the empty file the save dialog created, so a
// failed save leaves nothing that looks like a report.
func removeIfEmpty(path string) {
	if fi, err := os.Stat(path); err == nil && fi.Size() == 0 {
		_ = os.Remove(path)
	}
}

// FyneVersion is the version of Fyne this binary was built with, for
// diagnostics.Versions; "" if the build recorded none.
func FyneVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, m := range bi.Deps {
		if m.Path == "fyne.io/fyne/v2" {
			if m.Replace != nil {
				return m.Replace.Version
			}
			return m.Version
		}
	}
	return ""
}
