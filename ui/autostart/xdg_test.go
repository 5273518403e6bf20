//go:build linux || freebsd || openbsd || netbsd

package autostart

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Off by default; Enable writes a valid XDG autostart entry that names the
// executable (quoted when its path has a space); Disable removes it.
func TestXDGEntry(t *testing.T) {
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	if on, err := Enabled(); on || err != nil {
		t.Fatalf("before Enable: %v, %v", on, err)
	}
	e := Entry{Exe: "/opt/Out rigger/bin/outrigger", Args: []string{"--config", "/tmp/o.toml"}}
	if err := Enable(e); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(cfg, "autostart", Name+".desktop"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"[Desktop Entry]\n", "Type=Application\n", "Name=Outrigger\n",
		`Exec="/opt/Out rigger/bin/outrigger" --config /tmp/o.toml` + "\n"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("entry lacks %q:\n%s", want, b)
		}
	}
	if on, err := Enabled(); !on || err != nil {
		t.Errorf("after Enable: %v, %v", on, err)
	}
	if err := Disable(); err != nil {
		t.Fatal(err)
	}
	if on, err := Enabled(); on || err != nil {
		t.Errorf("after Disable: %v, %v", on, err)
	}
	if err := Disable(); err != nil {
		t.Errorf("a second Disable: %v", err)
	}
}
