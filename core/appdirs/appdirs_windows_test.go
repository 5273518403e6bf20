//go:build windows

package appdirs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWindowsPaths runs the real lookup on Windows (under Wine in CI): the
// settings roam with the user (%APPDATA%), state, logs and data stay on the
// machine (%LOCALAPPDATA%).
func TestWindowsPaths(t *testing.T) {
	t.Setenv("OUTRIGGER_HOME", "")
	roaming, local := os.Getenv("APPDATA"), os.Getenv("LOCALAPPDATA")
	if roaming == "" || local == "" {
		t.Fatalf("APPDATA=%q LOCALAPPDATA=%q: not a Windows user environment", roaming, local)
	}
	p, err := Resolve("")
	if err != nil {
		t.Fatal(err)
	}
	want := Paths{
		Home:       filepath.Join(roaming, "outrigger"),
		ConfigFile: filepath.Join(roaming, "outrigger", "outrigger.toml"),
		StateDir:   filepath.Join(local, "Outrigger", "state"),
		LogDir:     filepath.Join(local, "Outrigger", "logs"),
		DataDir:    filepath.Join(local, "Outrigger", "data"),
		RuntimeDir: filepath.Join(local, "Outrigger", "state", "run"),
	}
	if p != want {
		t.Fatalf("paths =\n%+v\nwant\n%+v", p, want)
	}
	if !strings.Contains(p.ConfigFile, `\`) {
		t.Errorf("%s is not a Windows path", p.ConfigFile)
	}
}
