//go:build darwin

package autostart

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"outrigger/core/safefile"
)

// A LaunchAgent: ~/Library/LaunchAgents/<id>.plist, which launchd reads at
// login. RunAtLoad starts the app once; without KeepAlive launchd does not
// restart it when the user quits.

func (a App) plistPath() (string, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, "Library", "LaunchAgents", a.ID+".plist"), nil
}

func (a App) enable() error {
	path, err := a.plistPath()
	if err != nil {
		return err
	}
	return safefile.Write(path, a.plist(), 0o644)
}

func (a App) disable() error {
	path, err := a.plistPath()
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

func (a App) enabled() (bool, error) {
	path, err := a.plistPath()
	if err != nil {
		return false, err
	}
	_, err = os.Stat(path)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, err
}

// plist is the agent's property list. AssociatedBundleIdentifiers makes
// System Settings → Login Items show it under the app's name and icon.
func (a App) plist() []byte {
	var b bytes.Buffer
	str := func(s string) {
		b.WriteString("<string>")
		_ = xml.EscapeText(&b, []byte(s)) // a bytes.Buffer never fails
		b.WriteString("</string>")
	}
	b.WriteString(xml.Header)
	b.WriteString(`<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">` + "\n")
	b.WriteString("<plist version=\"1.0\">\n<dict>\n")
	b.WriteString("\t<key>Label</key>")
	str(a.ID)
	b.WriteString("\n\t<key>ProgramArguments</key>\n\t<array>\n")
	for _, s := range append([]string{a.Exec}, a.Args...) {
		b.WriteString("\t\t")
		str(s)
		b.WriteString("\n")
	}
	b.WriteString("\t</array>\n\t<key>RunAtLoad</key><true/>\n")
	b.WriteString("\t<key>ProcessType</key>")
	str("Interactive")
	b.WriteString("\n\t<key>AssociatedBundleIdentifiers</key>\n\t<array>")
	str(a.ID)
	b.WriteString("</array>\n</dict>\n</plist>\n")
	return b.Bytes()
}
