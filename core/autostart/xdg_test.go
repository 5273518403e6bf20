//go:build !windows && !darwin

package autostart

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"outrigger/internal/testutil"
)

// probeEnv makes the test binary, started from an autostart entry, print
// its arguments and exit instead of running the tests.
const probeEnv = "OUTRIGGER_AUTOSTART_PROBE"

func TestMain(m *testing.M) {
	if os.Getenv(probeEnv) == "1" {
		fmt.Print("probe:" + strings.Join(os.Args[1:], "|"))
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// isolate points the XDG folders at a temporary home, so no test reads or
// writes the real user's autostart folder or the system's.
func isolate(t *testing.T) (autostartDir, systemDir string) {
	t.Helper()
	root := t.TempDir()
	t.Setenv("HOME", filepath.Join(root, "home"))
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(root, "config"))
	t.Setenv("XDG_CONFIG_DIRS", filepath.Join(root, "xdg"))
	t.Setenv("APPIMAGE", "")
	return filepath.Join(root, "config", "autostart"), filepath.Join(root, "xdg", "autostart")
}

// TestEnableRunsThisBinary: the package-level toggle writes an entry that
// desktops accept, whose Exec starts this very executable with --hidden;
// Enabled follows it; Disable removes the file.
func TestEnableRunsThisBinary(t *testing.T) {
	dir, _ := isolate(t)
	if on, err := Enabled(); err != nil || on {
		t.Fatalf("Enabled before Enable = %v, %v; want false (off by default)", on, err)
	}
	if err := Enable(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, ID+".desktop")
	e := readEntry(t, path)
	for k, want := range map[string]string{"Type": "Application", "Name": Name, "Hidden": "false",
		"X-GNOME-Autostart-enabled": "true", "Terminal": "false"} {
		if e[k] != want {
			t.Errorf("%s=%q, want %q", k, e[k], want)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	exe, _ = filepath.EvalSymlinks(exe)
	argv := splitExec(t, e["Exec"])
	if argv[0] != exe || e["TryExec"] != exe {
		t.Errorf("Exec=%q TryExec=%q, want this executable %s", e["Exec"], e["TryExec"], exe)
	}
	// At login the app starts in the tray, window hidden.
	if out := run(t, argv); out != "probe:--hidden" {
		t.Errorf("the entry's command printed %q, want %q", out, "probe:--hidden")
	}
	if on, err := Enabled(); err != nil || !on {
		t.Errorf("Enabled after Enable = %v, %v", on, err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("entry mode: %v %v", fi, err)
	}

	if err := Disable(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("entry still there after Disable: %v", err)
	}
	if on, err := Enabled(); err != nil || on {
		t.Errorf("Enabled after Disable = %v, %v", on, err)
	}
	if err := Disable(); err != nil {
		t.Errorf("Disable when already off: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// A path and arguments full of characters the Exec key reserves survive
// the quoting: the desktop would start exactly this program with exactly
// these arguments.
func TestExecQuoting(t *testing.T) {
	dir, _ := isolate(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	odd := filepath.Join(t.TempDir(), `dir with space, 100% $HOME "q" \b`, "outrigger")
	if err := os.MkdirAll(filepath.Dir(odd), 0o755); err != nil {
		t.Fatal(err)
	}
	testutil.CopyExecutable(t, self, odd)
	args := []string{"--flag", "two words", `quote"back\slash`, "$dollar`tick`", "50%", "", "new\nline"}
	a := App{ID: "test.autostart.quoting", Name: "Quoting test", Exec: odd, Args: args}
	if err := a.Enable(); err != nil {
		t.Fatal(err)
	}
	e := readEntry(t, filepath.Join(dir, a.ID+".desktop"))
	argv := splitExec(t, e["Exec"])
	if argv[0] != odd || e["TryExec"] != odd {
		t.Fatalf("Exec program %q, TryExec %q; want %q", argv[0], e["TryExec"], odd)
	}
	if want := "probe:" + strings.Join(args, "|"); run(t, argv) != want {
		t.Errorf("ran %q, want %q", run(t, argv), want)
	}
}

// The user's desktop settings win: GNOME's switch and a Hidden entry both
// read as off; with a system-wide entry of the same name, Disable hides it
// instead of deleting our file (which would let the system one through).
func TestDesktopSwitches(t *testing.T) {
	dir, sys := isolate(t)
	a := App{ID: "test.autostart.switches", Name: "Switches", Exec: "/usr/bin/true"}
	path := filepath.Join(dir, a.ID+".desktop")
	if err := a.Enable(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	gnomeOff := strings.Replace(string(data), "X-GNOME-Autostart-enabled=true", "X-GNOME-Autostart-enabled=false", 1)
	if err := os.WriteFile(path, []byte(gnomeOff), 0o644); err != nil {
		t.Fatal(err)
	}
	if on, err := a.Enabled(); err != nil || on {
		t.Errorf("Enabled with X-GNOME-Autostart-enabled=false = %v, %v", on, err)
	}

	if err := os.MkdirAll(sys, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sys, a.ID+".desktop"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := a.Enable(); err != nil {
		t.Fatal(err)
	}
	if err := a.Disable(); err != nil {
		t.Fatal(err)
	}
	if e := readEntry(t, path); e["Hidden"] != "true" {
		t.Errorf("Disable over a system-wide entry: Hidden=%q, want true", e["Hidden"])
	}
	if on, err := a.Enabled(); err != nil || on {
		t.Errorf("Enabled after Disable over a system entry = %v, %v", on, err)
	}
}

func TestParseDesktopErrors(t *testing.T) {
	for _, bad := range []string{"Exec=x\n", "[Desktop Entry\nExec=x\n", "[Desktop Entry]\nnot a pair\n"} {
		if _, err := parseDesktop([]byte(bad)); err == nil {
			t.Errorf("parseDesktop(%q) accepted it", bad)
		}
	}
	e, err := parseDesktop([]byte("# c\n[Desktop Entry]\nName=A\\sB\nName[de]=X\n[Other]\nName=no\n"))
	if err != nil || e["Name"] != "A B" || len(e) != 1 {
		t.Errorf("parseDesktop = %v, %v", e, err)
	}
}

func readEntry(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	e, err := parseDesktop(data)
	if err != nil {
		t.Fatalf("%s: %v\n%s", path, err, data)
	}
	return e
}

// splitExec splits an (already unescaped) Exec value as a desktop does:
// arguments separated by spaces; inside double quotes a backslash escapes
// the next character; %% is a literal %, and any other field code is
// refused because the entry must not need one.
func splitExec(t *testing.T, s string) []string {
	t.Helper()
	var args []string
	var cur strings.Builder
	inArg, quoted := false, false
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case quoted && r == '\\' && i+1 < len(rs):
			i++
			cur.WriteRune(rs[i])
		case r == '"':
			quoted, inArg = !quoted, true
		case r == '%':
			if i+1 >= len(rs) || rs[i+1] != '%' {
				t.Fatalf("Exec %q has a field code at %d", s, i)
			}
			i++
			cur.WriteRune('%')
			inArg = true
		case r == ' ' && !quoted:
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
		default:
			cur.WriteRune(r)
			inArg = true
		}
	}
	if quoted {
		t.Fatalf("Exec %q: unterminated quote", s)
	}
	if inArg {
		args = append(args, cur.String())
	}
	if len(args) == 0 {
		t.Fatalf("Exec %q is empty", s)
	}
	return args
}

func run(t *testing.T, argv []string) string {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), probeEnv+"=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%q: %v", argv, err)
	}
	return string(out)
}
