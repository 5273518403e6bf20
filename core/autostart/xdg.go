//go:build !windows && !darwin

package autostart

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"outrigger/core/safefile"
)

// An XDG autostart entry (freedesktop.org's Desktop Application Autostart
// Specification): $XDG_CONFIG_HOME/autostart/<id>.desktop. GNOME, KDE,
// Xfce and the other desktops read it at login.

// userDir is the user's autostart folder.
func userDir() (string, error) {
	if d := os.Getenv("XDG_CONFIG_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "autostart"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".config", "autostart"), nil
}

// systemDirs are the autostart folders of $XDG_CONFIG_DIRS, whose entries
// a user entry of the same name overrides.
func systemDirs() []string {
	dirs := os.Getenv("XDG_CONFIG_DIRS")
	if dirs == "" {
		dirs = "/etc/xdg"
	}
	var out []string
	for _, d := range filepath.SplitList(dirs) {
		if filepath.IsAbs(d) {
			out = append(out, filepath.Join(d, "autostart"))
		}
	}
	return out
}

func (a App) file() (string, error) {
	dir, err := userDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, a.ID+".desktop"), nil
}

func (a App) enable() error {
	path, err := a.file()
	if err != nil {
		return err
	}
	return safefile.Write(path, a.desktopEntry(false), 0o644)
}

func (a App) disable() error {
	path, err := a.file()
	if err != nil {
		return err
	}
	// Removing our file would let a system-wide entry of the same name
	// start the app again; Hidden=true is the spec's way to delete it for
	// this user.
	for _, d := range systemDirs() {
		if _, err := os.Stat(filepath.Join(d, a.ID+".desktop")); err == nil {
			return safefile.Write(path, a.desktopEntry(true), 0o644)
		}
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

func (a App) enabled() (bool, error) {
	path, err := a.file()
	if err != nil {
		return false, err
	}
	candidates := []string{path}
	for _, d := range systemDirs() {
		candidates = append(candidates, filepath.Join(d, a.ID+".desktop"))
	}
	for _, p := range candidates { // the first that exists decides
		data, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return false, err
		}
		e, err := parseDesktop(data)
		if err != nil {
			return false, fmt.Errorf("%s: %w", p, err)
		}
		// GNOME's own switch writes X-GNOME-Autostart-enabled=false.
		return e["Hidden"] != "true" && e["X-GNOME-Autostart-enabled"] != "false", nil
	}
	return false, nil
}

// desktopEntry is the file's text. TryExec makes desktops skip the entry
// once the executable is gone (a system-wide uninstall cannot reach each
// user's folder to remove it).
func (a App) desktopEntry(hidden bool) []byte {
	var b bytes.Buffer
	b.WriteString("[Desktop Entry]\n")
	b.WriteString("Type=Application\n")
	b.WriteString("Name=" + escapeValue(a.Name) + "\n")
	b.WriteString("Comment=" + escapeValue("Start "+a.Name+" at login") + "\n")
	if a.Exec != "" {
		b.WriteString("Exec=" + escapeValue(execLine(a.Exec, a.Args)) + "\n")
		b.WriteString("TryExec=" + escapeValue(a.Exec) + "\n")
	}
	b.WriteString("Icon=" + escapeValue(a.ID) + "\n")
	b.WriteString("Terminal=false\n")
	b.WriteString("X-GNOME-Autostart-enabled=" + fmt.Sprint(!hidden) + "\n")
	b.WriteString("Hidden=" + fmt.Sprint(hidden) + "\n")
	return b.Bytes()
}

// execLine quotes the program and its arguments by the Exec key's rules:
// an argument with a reserved character is double-quoted, and inside the
// quotes ", `, $ and \ are escaped with a backslash; a literal % is %%.
func execLine(exe string, args []string) string {
	parts := make([]string, 0, 1+len(args))
	for _, s := range append([]string{exe}, args...) {
		if s != "" && !strings.ContainsAny(s, " \t\n\"'\\><~|&;$*?#()`") {
			parts = append(parts, strings.ReplaceAll(s, "%", "%%"))
			continue
		}
		var q strings.Builder
		q.WriteByte('"')
		for _, r := range s {
			switch r {
			case '"', '`', '$', '\\':
				q.WriteByte('\\')
			case '%':
				q.WriteByte('%')
			}
			q.WriteRune(r)
		}
		q.WriteByte('"')
		parts = append(parts, q.String())
	}
	return strings.Join(parts, " ")
}

// escapeValue applies the escapes of a desktop file's string values (on
// top of Exec's own quoting): a backslash is doubled, and control
// characters that would end the line are written as \n, \t, \r.
func escapeValue(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`, "\t", `\t`, "\r", `\r`).Replace(s)
}

// unescapeValue reverses escapeValue (and the spec's \s for a space).
func unescapeValue(s string) string {
	return strings.NewReplacer(`\\`, `\`, `\n`, "\n", `\t`, "\t", `\r`, "\r", `\s`, " ").Replace(s)
}

// parseDesktop returns the keys of the [Desktop Entry] group, values
// unescaped. Comments, blank lines, other groups and localised keys
// (Name[de]) are skipped.
func parseDesktop(data []byte) (map[string]string, error) {
	out := map[string]string{}
	group := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			if !strings.HasSuffix(line, "]") {
				return nil, fmt.Errorf("line %d: unterminated group header %q", n, line)
			}
			group = line[1 : len(line)-1]
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				return nil, fmt.Errorf("line %d: %q is not key=value", n, line)
			}
			k = strings.TrimSpace(k)
			if group == "Desktop Entry" && !strings.Contains(k, "[") {
				out[k] = unescapeValue(strings.TrimSpace(v))
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if group == "" {
		return nil, errors.New("no [Desktop Entry] group")
	}
	return out, nil
}
