package appdirs

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestPathsOutriggerHome(t *testing.T) {
	home := t.TempDir()
	t.Setenv("OUTRIGGER_HOME", home)
	p, err := Resolve("")
	if err != nil {
		t.Fatal(err)
	}
	want := Paths{Home: home, ConfigFile: filepath.Join(home, "outrigger.toml"), StateDir: filepath.Join(home, "state"),
		LogDir: filepath.Join(home, "logs"), DataDir: filepath.Join(home, "data"), RuntimeDir: filepath.Join(home, "run")}
	if p != want {
		t.Errorf("got  %+v\nwant %+v", p, want)
	}
	if err := p.Ensure(); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{p.StateDir, p.LogDir, p.DataDir, p.RuntimeDir} {
		st, err := os.Stat(d)
		if err != nil || !st.IsDir() || (st.Mode().Perm() != 0o700 && runtime.GOOS != "windows") {
			t.Errorf("%s: %v %v", d, err, st)
		}
	}
	// --config replaces only the config file, made absolute.
	p, err = Resolve("custom.toml")
	if err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	if p.ConfigFile != filepath.Join(wd, "custom.toml") || p.StateDir != filepath.Join(home, "state") {
		t.Errorf("%+v", p)
	}
	// A relative OUTRIGGER_HOME is made absolute.
	t.Setenv("OUTRIGGER_HOME", "rel")
	if p, _ := Resolve(""); p.Home != filepath.Join(wd, "rel") {
		t.Errorf("%+v", p)
	}
}

func TestPlatformPaths(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the expectations are written with / separators")
	}
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	j := filepath.Join
	cases := []struct {
		goos string
		env  map[string]string
		want Paths
	}{
		{"linux", map[string]string{"HOME": "/home/u"}, Paths{
			Home: "/home/u/.config/outrigger", ConfigFile: "/home/u/.config/outrigger/outrigger.toml",
			StateDir: "/home/u/.local/state/outrigger", LogDir: "/home/u/.local/state/outrigger/logs",
			DataDir: "/home/u/.local/share/outrigger", RuntimeDir: "/home/u/.local/state/outrigger/run"}},
		{"linux", map[string]string{"HOME": "/home/u", "XDG_CONFIG_HOME": "/c", "XDG_STATE_HOME": "/s", "XDG_DATA_HOME": "/d", "XDG_RUNTIME_DIR": "/run/user/1000"}, Paths{
			Home: "/c/outrigger", ConfigFile: "/c/outrigger/outrigger.toml", StateDir: "/s/outrigger", LogDir: "/s/outrigger/logs",
			DataDir: "/d/outrigger", RuntimeDir: "/run/user/1000/outrigger"}},
		{"linux", map[string]string{"HOME": "/home/u", "XDG_STATE_HOME": "relative"}, Paths{
			Home: "/home/u/.config/outrigger", ConfigFile: "/home/u/.config/outrigger/outrigger.toml",
			StateDir: "/home/u/.local/state/outrigger", LogDir: "/home/u/.local/state/outrigger/logs",
			DataDir: "/home/u/.local/share/outrigger", RuntimeDir: "/home/u/.local/state/outrigger/run"}},
		{"darwin", map[string]string{"HOME": "/Users/u"}, Paths{
			Home: "/Users/u/Library/Application Support/outrigger", ConfigFile: "/Users/u/Library/Application Support/outrigger/outrigger.toml",
			StateDir: "/Users/u/Library/Application Support/Outrigger/state", LogDir: "/Users/u/Library/Logs/Outrigger",
			DataDir: "/Users/u/Library/Application Support/Outrigger/data", RuntimeDir: "/Users/u/Library/Application Support/Outrigger/state/run"}},
		{"windows", map[string]string{"AppData": j("C:", "R"), "LocalAppData": j("C:", "L")}, Paths{
			Home: j("C:", "R", "outrigger"), ConfigFile: j("C:", "R", "outrigger", "outrigger.toml"),
			StateDir: j("C:", "L", "Outrigger", "state"), LogDir: j("C:", "L", "Outrigger", "logs"),
			DataDir: j("C:", "L", "Outrigger", "data"), RuntimeDir: j("C:", "L", "Outrigger", "state", "run")}},
	}
	for _, tc := range cases {
		got, err := resolve(tc.goos, env(tc.env), "")
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("%s %v\n got  %+v\n want %+v", tc.goos, tc.env, got, tc.want)
		}
	}
	if _, err := resolve("linux", env(nil), ""); err == nil {
		t.Error("no HOME should be an error")
	}
	if p, err := resolve("windows", env(map[string]string{"OUTRIGGER_HOME": "/h"}), ""); err != nil || p.LogDir != "/h/logs" {
		t.Errorf("OUTRIGGER_HOME wins on every OS: %v %+v", err, p)
	}
}
