// Package autostart turns "start Outrigger at login" on and off, the way
// each desktop expects: an XDG autostart entry on Linux and the BSDs, a
// LaunchAgent on macOS, the HKCU Run key on Windows. Off by default:
// nothing is written until the user asks. The entry names the executable
// by its path, so an upgrade in place keeps it; an uninstaller removes it
// with Disable.
package autostart

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Name identifies the entry (file name, LaunchAgent label, Run value).
const Name = "io.outrigger.app"

// Entry is one login item: the program to start and its arguments.
type Entry struct {
	Exe  string
	Args []string
}

// Current is the running executable, symlinks resolved.
func Current() (Entry, error) {
	exe, err := os.Executable()
	if err != nil {
		return Entry{}, fmt.Errorf("autostart: locate the executable: %w", err)
	}
	if r, err := filepath.EvalSymlinks(exe); err == nil {
		exe = r
	}
	return Entry{Exe: exe}, nil
}

// ErrUnsupported: this OS has no login items we know how to write.
var ErrUnsupported = errors.New("autostart: not supported on this system")

// writeAtomic writes data to path via a temp file, fsync and rename.
func writeAtomic(path string, data []byte, perm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("autostart: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".autostart-*")
	if err != nil {
		return fmt.Errorf("autostart: %w", err)
	}
	_, werr := tmp.Write(data)
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmp.Name(), perm)
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("autostart: write %s: %w", path, werr)
	}
	return nil
}
