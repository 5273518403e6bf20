//go:build !windows && !darwin

package ui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"outrigger/core/autostart"
)

// isolateAutostart points the XDG folders at a temporary home.
func isolateAutostart(t *testing.T) (entry string) {
	t.Helper()
	root := t.TempDir()
	t.Setenv("HOME", root)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(root, "config"))
	t.Setenv("XDG_CONFIG_DIRS", filepath.Join(root, "xdg"))
	return filepath.Join(root, "config", "autostart", autostart.ID+".desktop")
}

func TestAutostartCheck(t *testing.T) {
	entry := isolateAutostart(t)
	test.NewTempApp(t)
	win := test.NewTempWindow(t, widget.NewLabel(""))

	var c *widget.Check
	onUI(func() { c = NewAutostartCheck(win) })
	onUI(func() {
		if c.Checked {
			t.Error("on by default")
		}
		test.Tap(c)
	})
	if _, err := os.Stat(entry); err != nil {
		t.Fatalf("ticking the box wrote no entry: %v", err)
	}
	if on, err := autostart.Enabled(); err != nil || !on {
		t.Errorf("Enabled after ticking = %v, %v", on, err)
	}
	// A second switch (Settings opened again) shows what is on disk.
	onUI(func() {
		if again := NewAutostartCheck(win); !again.Checked {
			t.Error("a new switch does not show the entry that exists")
		}
		test.Tap(c)
	})
	if _, err := os.Stat(entry); !os.IsNotExist(err) {
		t.Errorf("unticking left the entry: %v", err)
	}
}

// When the entry cannot be written the box goes back and the user is told.
func TestAutostartCheckError(t *testing.T) {
	entry := isolateAutostart(t)
	// A file where the autostart folder should be: writing the entry fails.
	if err := os.MkdirAll(filepath.Dir(filepath.Dir(entry)), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Dir(entry), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	test.NewTempApp(t)
	win := test.NewTempWindow(t, widget.NewLabel(""))
	win.Resize(fyne.NewSize(600, 400))
	onUI(func() {
		c := NewAutostartCheck(win)
		test.Tap(c)
		if c.Checked {
			t.Error("the box stays ticked though enabling failed")
		}
		if win.Canvas().Overlays().Top() == nil {
			t.Fatal("no error dialog")
		}
		if l := find[*widget.Label](win.Canvas().Overlays().Top(), func(l *widget.Label) bool {
			return strings.Contains(l.Text, filepath.Dir(entry))
		}); l == nil {
			t.Error("the error dialog does not name the folder")
		}
	})
}
