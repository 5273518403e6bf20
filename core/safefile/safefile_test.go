package safefile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Write and WriteVolatile differ only in the fsyncs, which no test can
// observe short of crashing the machine; everything else is the same.
func TestWrite(t *testing.T) {
	for name, write := range map[string]func(string, []byte, os.FileMode) error{
		"Write": Write, "WriteVolatile": WriteVolatile,
	} {
		t.Run(name, func(t *testing.T) { testWrite(t, write) })
	}
}

func testWrite(t *testing.T, Write func(string, []byte, os.FileMode) error) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sub", "state.json")
	if err := Write(p, []byte("one"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A reader that opened the old file reads the old content whole: the
	// new one arrives by rename, never by writing over it. (Windows cannot
	// rename over a file that is open.)
	if runtime.GOOS != "windows" {
		old, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer old.Close()
		if err := Write(p, []byte("two"), 0o600); err != nil {
			t.Fatal(err)
		}
		if b, _ := io.ReadAll(old); string(b) != "one" {
			t.Errorf("a reader of the old file read %q", b)
		}
	}
	if err := Write(p, []byte("two"), 0o600); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	st, _ := os.Stat(p)
	if string(b) != "two" || (st.Mode().Perm() != 0o600 && runtime.GOOS != "windows") {
		t.Errorf("%q %o", b, st.Mode().Perm())
	}
	entries, _ := os.ReadDir(filepath.Dir(p))
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temp file left: %s", e.Name())
		}
	}
	// A symlink is followed and kept.
	target := filepath.Join(dir, "real.toml")
	link := filepath.Join(dir, "link.toml")
	if err := os.WriteFile(target, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Skip("no symlinks:", err)
	}
	if err := Write(link, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Lstat(link); fi.Mode()&os.ModeSymlink == 0 {
		t.Error("symlink replaced by a file")
	}
	if b, _ := os.ReadFile(target); string(b) != "new" {
		t.Errorf("target %q", b)
	}
}

func TestSetAside(t *testing.T) {
	p := filepath.Join(t.TempDir(), "outrigger.toml")
	if err := os.WriteFile(p, []byte("mode = [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := SetAside(p)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(a); err != nil || string(b) != "mode = [\n" || !strings.HasPrefix(a, p+".corrupt-") {
		t.Fatalf("set-aside file %s: %v %q", a, err, b)
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Errorf("original still there: %v", err)
	}
	// Twice within a second: a distinct name.
	if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := SetAside(p); err != nil || b == a {
		t.Errorf("%v %s %s", err, a, b)
	}
	// Nothing there: nothing to do.
	if b, err := SetAside(p); b != "" || err != nil {
		t.Errorf("missing file: %q %v", b, err)
	}
}

// A file set aside whose folder then fails to sync has still moved: its
// new name comes back with the error, so the caller does not report it as
// still in place.
func TestSetAsideSyncFailureStillMoved(t *testing.T) {
	p := filepath.Join(t.TempDir(), "outrigger.toml")
	if err := os.WriteFile(p, []byte("mode = [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	syncDir = func(string) error { return errors.New("fsync: input/output error") }
	t.Cleanup(func() { syncDir = syncDirFS })
	moved, err := SetAside(p)
	if err == nil || moved == "" {
		t.Fatalf("SetAside = %q, %v; want the new name and the sync error", moved, err)
	}
	if _, err := os.Stat(moved); err != nil {
		t.Errorf("the moved file: %v", err)
	}
}
