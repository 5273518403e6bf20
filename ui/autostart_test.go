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

// Settings has the switch too: off by default, it writes and removes the
// login entry, shows an entry made elsewhere when the tab is opened, keeps
// the File menu in step, and says inline why a change failed.
func TestSettingsStartAtLogin(t *testing.T) {
	// Only the XDG folders: HOME also locates Go's build cache, which the
	// rig's fixture build needs warm.
	root := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(root, "config"))
	t.Setenv("XDG_CONFIG_DIRS", filepath.Join(root, "xdg"))
	entry := filepath.Join(root, "config", "autostart", autostart.ID+".desktop")
	r := newRig(t, nil, fixtureSpec(t, "alpha"))
	s := r.ui.sets
	onUI(func() {
		if s.login.check.Checked || r.ui.loginItem.Checked {
			t.Error("Start at login is on by default")
		}
		test.Tap(s.login.check)
	})
	if _, err := os.Stat(entry); err != nil {
		t.Fatalf("ticking Start at login in Settings wrote no entry: %v", err)
	}
	onUI(func() {
		if !r.ui.loginItem.Checked {
			t.Error("the File menu does not show the change")
		}
		if s.loginErr.Visible() {
			t.Errorf("an error shown after a change that worked: %q", s.loginErr.Text)
		}
		test.Tap(s.login.check)
	})
	if _, err := os.Stat(entry); !os.IsNotExist(err) {
		t.Fatalf("unticking left the entry: %v", err)
	}
	// Turned on elsewhere (the File menu, another Outrigger): opening the
	// tab shows it.
	if err := autostart.Enable(); err != nil {
		t.Fatal(err)
	}
	onUI(func() {
		r.ui.tabs.Select(r.ui.logsTab)
		r.ui.tabs.Select(r.ui.setTab)
		if !s.login.check.Checked {
			t.Error("the Settings tab does not show an entry made elsewhere")
		}
	})
	if err := autostart.Disable(); err != nil {
		t.Fatal(err)
	}
	// A file where the autostart folder should be: enabling fails, the box
	// goes back and the reason shows in the panel, not in a dialog.
	if err := os.RemoveAll(filepath.Dir(entry)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Dir(entry), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	onUI(func() {
		s.syncLogin()
		test.Tap(s.login.check)
		if s.login.check.Checked {
			t.Error("the box stays ticked though enabling failed")
		}
		if !s.loginErr.Visible() || !strings.Contains(s.loginErr.Text, filepath.Dir(entry)) {
			t.Errorf("inline error %q (shown %v) does not name the folder", s.loginErr.Text, s.loginErr.Visible())
		}
		if top := r.ui.win.Canvas().Overlays().Top(); top != nil {
			t.Error("a dialog was shown instead of the inline error")
		}
	})
}
