// Package autostart starts Outrigger when the user logs in: an XDG
// autostart entry on Linux and the other Unixes, a LaunchAgent on macOS,
// a value under HKCU\…\Run on Windows. It is off until the user turns it
// on; nothing here runs at install time.
//
// The entry names the installed executable, the file an upgrade replaces
// in place (<prefix>/bin/outrigger, Outrigger.app/Contents/MacOS/outrigger,
// the NSIS folder's outrigger.exe), so it keeps working across upgrades
// and never names a version. The uninstallers remove it.
package autostart

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// App is a program to start at login.
type App struct {
	ID   string   // reverse-DNS id: the entry's file name and LaunchAgent label
	Name string   // shown to the user; the Windows Run value's name
	Exec string   // absolute path of the executable
	Args []string // arguments after Exec
}

// Outrigger's identity; the uninstallers use the same names.
const (
	ID   = "io.outrigger.app"
	Name = "Outrigger"
)

// Current returns the App that starts this executable.
func Current() (App, error) {
	exe, err := executable()
	if err != nil {
		return App{}, err
	}
	// At login the app starts in the tray: the services come up, no
	// window is pushed at the user (it shows where there is no tray).
	return App{ID: ID, Name: Name, Exec: exe, Args: []string{"--hidden"}}, nil
}

// Enable makes this executable start at login.
func Enable() error {
	a, err := Current()
	if err != nil {
		return err
	}
	return a.Enable()
}

// Disable stops this app from starting at login. It is not an error if it
// was not enabled.
func Disable() error { return App{ID: ID, Name: Name}.Disable() }

// Enabled reports whether the app starts at login.
func Enabled() (bool, error) { return App{ID: ID, Name: Name}.Enabled() }

// Enable writes the login entry, replacing an earlier one (of an older
// install location, say).
func (a App) Enable() error {
	if a.ID == "" || a.Name == "" || !filepath.IsAbs(a.Exec) {
		return fmt.Errorf("autostart: %q (%s) needs an id, a name and an absolute executable path", a.Name, a.Exec)
	}
	if err := a.enable(); err != nil {
		return fmt.Errorf("autostart: enable %s: %w", a.Name, err)
	}
	return nil
}

// Disable removes the login entry.
func (a App) Disable() error {
	if err := a.disable(); err != nil {
		return fmt.Errorf("autostart: disable %s: %w", a.Name, err)
	}
	return nil
}

// Enabled reports whether the login entry exists and the user has not
// switched it off in the desktop's own settings.
func (a App) Enabled() (bool, error) {
	on, err := a.enabled()
	if err != nil {
		return false, fmt.Errorf("autostart: %s: %w", a.Name, err)
	}
	return on, nil
}

// executable is the path that stays valid across upgrades: the running
// executable with symbolic links resolved, except where that path is a
// temporary one.
func executable() (string, error) {
	// An AppImage runs from a mount that exists only while it runs;
	// $APPIMAGE is the file the user has, which an update replaces.
	if p := os.Getenv("APPIMAGE"); p != "" && runtime.GOOS == "linux" && filepath.IsAbs(p) {
		return p, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("autostart: locate this executable: %w", err)
	}
	if r, err := filepath.EvalSymlinks(exe); err == nil {
		exe = r
	}
	// macOS runs an app opened straight from a download from a random,
	// read-only copy that is gone after a reboot.
	if strings.Contains(exe, "/AppTranslocation/") {
		return "", errors.New("autostart: Outrigger is running from a temporary copy that macOS made of the download; move Outrigger.app to Applications, open it from there, and try again")
	}
	return exe, nil
}
