// Package appdirs finds the app's per-user folders: where the settings
// file, state, logs, sidecars' data and runtime files (sockets, locks)
// live on each OS, or all under $OUTRIGGER_HOME.
package appdirs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// Paths are the per-user files and folders.
type Paths struct {
	Home       string // $OUTRIGGER_HOME when set; otherwise the folder of the default config file
	ConfigFile string // outrigger.toml (or --config)
	StateDir   string // pid/state files, remembered settings
	LogDir     string // the app's and the sidecars' log files
	DataDir    string // sidecars' data
	RuntimeDir string // sockets, locks: things that do not outlive a session
}

// Resolve finds the per-user folders. With $OUTRIGGER_HOME set
// (portable installs, tests) everything lives under it:
//
//	$H/outrigger.toml  $H/state  $H/logs  $H/data  $H/run
//
// Otherwise the platform's folders are used:
//
//	           config                                   state / data / logs / runtime
//	Linux      $XDG_CONFIG_HOME|~/.config/outrigger/    $XDG_STATE_HOME|~/.local/state/outrigger, $XDG_DATA_HOME|~/.local/share/outrigger,
//	                                                    <state>/logs, $XDG_RUNTIME_DIR/outrigger|<state>/run
//	macOS      ~/Library/Application Support/outrigger/ ~/Library/Application Support/Outrigger/{state,data}, ~/Library/Logs/Outrigger, <state>/run
//	Windows    %AppData%\outrigger\                     %LocalAppData%\Outrigger\{state,data,logs}, <state>\run
//
// configOverride (from --config), when not empty, replaces ConfigFile
// only. Every path returned is absolute.
func Resolve(configOverride string) (Paths, error) {
	return resolve(runtime.GOOS, os.Getenv, configOverride)
}

func resolve(goos string, getenv func(string) string, configOverride string) (Paths, error) {
	var p Paths
	if h := getenv("OUTRIGGER_HOME"); h != "" {
		h, err := filepath.Abs(h)
		if err != nil {
			return Paths{}, fmt.Errorf("config: OUTRIGGER_HOME: %w", err)
		}
		p = Paths{
			Home:       h,
			ConfigFile: filepath.Join(h, "outrigger.toml"),
			StateDir:   filepath.Join(h, "state"),
			LogDir:     filepath.Join(h, "logs"),
			DataDir:    filepath.Join(h, "data"),
			RuntimeDir: filepath.Join(h, "run"),
		}
	} else {
		var err error
		if p, err = platformPaths(goos, getenv); err != nil {
			return Paths{}, err
		}
	}
	if configOverride != "" {
		abs, err := filepath.Abs(configOverride)
		if err != nil {
			return Paths{}, fmt.Errorf("config: --config: %w", err)
		}
		p.ConfigFile = abs
	}
	return p, nil
}

// xdg returns $name when it is an absolute path (the XDG spec says to
// ignore relative ones), else home/fallback.
func xdg(getenv func(string) string, name, home, fallback string) string {
	if v := getenv(name); v != "" && filepath.IsAbs(v) {
		return v
	}
	return filepath.Join(home, fallback)
}

func platformPaths(goos string, getenv func(string) string) (Paths, error) {
	switch goos {
	case "windows":
		roaming, local := getenv("AppData"), getenv("LocalAppData")
		if roaming == "" || local == "" {
			return Paths{}, errors.New("config: %AppData% or %LocalAppData% is not set; set OUTRIGGER_HOME")
		}
		base := filepath.Join(local, "Outrigger")
		state := filepath.Join(base, "state")
		home := filepath.Join(roaming, "outrigger")
		return Paths{
			Home:       home,
			ConfigFile: filepath.Join(home, "outrigger.toml"),
			StateDir:   state,
			LogDir:     filepath.Join(base, "logs"),
			DataDir:    filepath.Join(base, "data"),
			RuntimeDir: filepath.Join(state, "run"),
		}, nil
	case "darwin", "ios":
		h := getenv("HOME")
		if h == "" {
			return Paths{}, errors.New("config: $HOME is not set; set OUTRIGGER_HOME")
		}
		support := filepath.Join(h, "Library", "Application Support")
		home := filepath.Join(support, "outrigger")
		state := filepath.Join(support, "Outrigger", "state")
		return Paths{
			Home:       home,
			ConfigFile: filepath.Join(home, "outrigger.toml"),
			StateDir:   state,
			LogDir:     filepath.Join(h, "Library", "Logs", "Outrigger"),
			DataDir:    filepath.Join(support, "Outrigger", "data"),
			RuntimeDir: filepath.Join(state, "run"),
		}, nil
	default: // Linux and the other Unixes: XDG
		h := getenv("HOME")
		if h == "" {
			return Paths{}, errors.New("config: $HOME is not set; set OUTRIGGER_HOME")
		}
		home := filepath.Join(xdg(getenv, "XDG_CONFIG_HOME", h, ".config"), "outrigger")
		state := filepath.Join(xdg(getenv, "XDG_STATE_HOME", h, filepath.Join(".local", "state")), "outrigger")
		runtimeDir := filepath.Join(state, "run")
		if r := getenv("XDG_RUNTIME_DIR"); r != "" && filepath.IsAbs(r) {
			runtimeDir = filepath.Join(r, "outrigger")
		}
		return Paths{
			Home:       home,
			ConfigFile: filepath.Join(home, "outrigger.toml"),
			StateDir:   state,
			LogDir:     filepath.Join(state, "logs"),
			DataDir:    filepath.Join(xdg(getenv, "XDG_DATA_HOME", h, filepath.Join(".local", "share")), "outrigger"),
			RuntimeDir: runtimeDir,
		}, nil
	}
}

// Ensure creates the state, log, data and runtime folders (0700). The
// config file's folder is created when the file is first saved.
func (p Paths) Ensure() error {
	for _, d := range []string{p.StateDir, p.LogDir, p.DataDir, p.RuntimeDir} {
		if d == "" {
			continue
		}
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("config: %w", err)
		}
	}
	return nil
}
