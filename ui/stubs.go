package ui

import (
	"net/url"
	"path/filepath"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"outrigger/core/supervisor"
)

type logsPanel struct{ root fyne.CanvasObject }

func newLogsPanel(u *UI) *logsPanel      { return &logsPanel{root: widget.NewLabel("Logs")} }
func (l *logsPanel) setActive(bool)      {}
func (l *logsPanel) selectSidecar(string) {}

type settingsPanel struct{ root fyne.CanvasObject }

func newSettingsPanel(u *UI) *settingsPanel    { return &settingsPanel{root: widget.NewLabel("Settings")} }
func (s *settingsPanel) selectSidecar(string) {}
func (s *settingsPanel) statusChanged()       {}

type tray struct{ enabled bool }

func newTray(u *UI) *tray  { return nil }
func (t *tray) refresh()   {}
func (t *tray) start()     {}

type notifier struct{}

func newNotifier(u *UI) *notifier            { return &notifier{} }
func (n *notifier) event(supervisor.Event) {}
func (n *notifier) hiddenOnce()            {}

type modeSwitcher struct{ root fyne.CanvasObject }

func newModeSwitcher(u *UI) *modeSwitcher { return &modeSwitcher{root: widget.NewLabel("mode")} }
func (m *modeSwitcher) start()            {}
func (m *modeSwitcher) tick(time.Time)    {}

func openFolder(a fyne.App, dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	return a.OpenURL(&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)})
}
