//go:build darwin

package autostart

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"testing"
)

// The LaunchAgent is a property list launchd can read, naming this
// executable, and it comes and goes with Enable and Disable.
func TestLaunchAgent(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	a := App{ID: "test.autostart.agent", Name: "Agent test", Exec: "/Applications/A & B.app/Contents/MacOS/a", Args: []string{"<x>"}}
	if on, err := a.Enabled(); err != nil || on {
		t.Fatalf("Enabled before Enable = %v, %v", on, err)
	}
	if err := a.Enable(); err != nil {
		t.Fatal(err)
	}
	path, err := a.plistPath()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Dict struct {
			Keys    []string `xml:"key"`
			Strings []string `xml:"string"`
			Arrays  []struct {
				Strings []string `xml:"string"`
			} `xml:"array"`
		} `xml:"dict"`
	}
	if err := xml.Unmarshal(data, &p); err != nil {
		t.Fatalf("%s: %v\n%s", path, err, data)
	}
	if len(p.Dict.Arrays) < 1 || len(p.Dict.Arrays[0].Strings) != 2 || p.Dict.Arrays[0].Strings[0] != a.Exec ||
		p.Dict.Arrays[0].Strings[1] != "<x>" || p.Dict.Strings[0] != a.ID {
		t.Errorf("plist = %+v", p)
	}
	if on, err := a.Enabled(); err != nil || !on {
		t.Errorf("Enabled after Enable = %v, %v", on, err)
	}
	if err := a.Disable(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Clean(path)); !os.IsNotExist(err) {
		t.Errorf("plist still there: %v", err)
	}
}
