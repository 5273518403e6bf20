//go:build windows

package autostart

import (
	"errors"
	"strings"
	"syscall"

	"golang.org/x/sys/windows/registry"
)

// A value under HKCU\Software\Microsoft\Windows\CurrentVersion\Run, named
// after the app, holding its command line. Explorer runs it at logon.
const runKey = `Software\Microsoft\Windows\CurrentVersion\Run`

// approvedKey is where Task Manager's Startup tab records that the user
// disabled a Run entry; that mark outranks the Run value itself.
const approvedKey = `Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run`

func (a App) enable() error {
	k, _, err := registry.CreateKey(registry.CURRENT_USER, runKey, registry.SET_VALUE)
	if err != nil {
		return err
	}
	defer k.Close()
	if err := k.SetStringValue(a.Name, a.commandLine()); err != nil {
		return err
	}
	// Turning it on here means on: clear a "disabled" left by Task Manager.
	if ak, err := registry.OpenKey(registry.CURRENT_USER, approvedKey, registry.SET_VALUE); err == nil {
		defer ak.Close()
		if err := ak.DeleteValue(a.Name); err != nil && !errors.Is(err, registry.ErrNotExist) {
			return err
		}
	}
	return nil
}

func (a App) disable() error {
	k, err := registry.OpenKey(registry.CURRENT_USER, runKey, registry.SET_VALUE)
	if errors.Is(err, registry.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer k.Close()
	if err := k.DeleteValue(a.Name); err != nil && !errors.Is(err, registry.ErrNotExist) {
		return err
	}
	return nil
}

func (a App) enabled() (bool, error) {
	k, err := registry.OpenKey(registry.CURRENT_USER, runKey, registry.QUERY_VALUE)
	if errors.Is(err, registry.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer k.Close()
	if _, _, err := k.GetStringValue(a.Name); err != nil {
		if errors.Is(err, registry.ErrNotExist) {
			return false, nil
		}
		return false, err
	}
	ak, err := registry.OpenKey(registry.CURRENT_USER, approvedKey, registry.QUERY_VALUE)
	if err != nil {
		return true, nil // no Task Manager mark at all
	}
	defer ak.Close()
	// 02 00 00 … is enabled, 03 00 00 … (then the time it was switched
	// off) disabled: an odd first byte means off.
	if b, _, err := ak.GetBinaryValue(a.Name); err == nil && len(b) > 0 && b[0]&1 == 1 {
		return false, nil
	}
	return true, nil
}

// commandLine quotes the executable always (a path with spaces unquoted
// is the classic Run-key hijack) and each argument as the C runtime parses
// it.
func (a App) commandLine() string {
	parts := []string{`"` + a.Exec + `"`}
	for _, s := range a.Args {
		parts = append(parts, syscall.EscapeArg(s))
	}
	return strings.Join(parts, " ")
}
