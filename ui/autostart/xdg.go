//go:build linux || freebsd || openbsd || netbsd

package autostart

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// path is $XDG_CONFIG_HOME/autostart/io.outrigger.app.desktop.
func path() (string, error) {
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("autostart: %w", err)
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "autostart", Name+".desktop"), nil
}

// Enabled reports whether the entry exists and is not hidden.
func Enabled() (bool, error) {
	p, err := path()
	if err != nil {
		return false, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("autostart: %w", err)
	}
	return !bytes.Contains(b, []byte("\nHidden=true")), nil
}

// Enable writes the entry for e.
func Enable(e Entry) error {
	p, err := path()
	if err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("[Desktop Entry]\nType=Application\nName=Outrigger\n")
	b.WriteString("Comment=Supervises the local services of your AI app\n")
	b.WriteString("Exec=" + execLine(e) + "\n")
	b.WriteString("Icon=" + Name + "\nTerminal=false\nX-GNOME-Autostart-enabled=true\n")
	return writeAtomic(p, []byte(b.String()), 0o644)
}

// Disable removes the entry (nothing to do when there is none).
func Disable() error {
	p, err := path()
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("autostart: %w", err)
	}
	return nil
}

// execLine quotes each word as the Desktop Entry spec asks.
func execLine(e Entry) string {
	words := append([]string{e.Exe}, e.Args...)
	for i, w := range words {
		if strings.ContainsAny(w, " \t\n\"'\\><~|&;$*?#()`%") {
			r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "`", "\\`", `$`, `\$`, `%`, `%%`)
			words[i] = `"` + r.Replace(w) + `"`
		}
	}
	return strings.Join(words, " ")
}
