package logs

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestRotatingFileKeepsBackupsAndStartsNoGoroutine: writes past the size
// rotate, only the newest backups stay, every file holds whole writes under
// the size, and no goroutine is left behind by any number of files.
func TestRotatingFileKeepsBackupsAndStartsNoGoroutine(t *testing.T) {
	dir := t.TempDir()
	before := runtime.NumGoroutine()
	var files []*rotatingFile
	for _, name := range []string{"a", "b", "c"} {
		files = append(files, newRotatingFile(filepath.Join(dir, name+".log"), 1000, 2))
	}
	rec := []byte(strings.Repeat("r", 99) + "\n")
	for range 100 { // 10 000 bytes each: 9 rotations
		for _, f := range files {
			if _, err := f.Write(rec); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after writing 3 rotated files, %d before", n, before)
	}
	for _, f := range files {
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	all, _ := filepath.Glob(filepath.Join(dir, "a*.log"))
	var kept int
	if len(all) != 3 { // a.log and two backups
		t.Fatalf("files of a: %v", all)
	}
	for _, p := range all {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		kept += len(data)
		if len(data) > 1000 || len(data)%len(rec) != 0 {
			t.Errorf("%s holds %d bytes", p, len(data))
		}
		if st, _ := os.Stat(p); st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v", p, st.Mode().Perm())
		}
	}
	// 10 000 bytes, 1 000 per full file: the current file and the two
	// newest backups are full — no backup was overwritten by another.
	if kept != 3000 {
		t.Errorf("a's files keep %d bytes, want 3000", kept)
	}
}

// A rotation that cannot rename the file keeps the lines: the write goes
// to the file, past its size, and the rotation is tried again only after
// another eighth of the size. Before, the batch being written was dropped,
// and on Windows, while another program held the file open, every later
// batch too.
func TestFailedRotationKeepsTheLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.log")
	f := newRotatingFile(path, 1000, 2)
	defer f.Close()
	fails, tries := true, 0
	renameFile = func(from, to string) error {
		tries++
		if fails {
			return &os.LinkError{Op: "rename", Old: from, New: to, Err: os.ErrPermission}
		}
		return os.Rename(from, to)
	}
	defer func() { renameFile = os.Rename }()
	rec := []byte(strings.Repeat("r", 49) + "\n")
	for range 60 { // 3 000 bytes: rotations due from 1 000 on, and they fail
		if _, err := f.Write(rec); err != nil {
			t.Fatalf("write while the rename fails: %v", err)
		}
	}
	if data, _ := os.ReadFile(path); len(data) != 3000 {
		t.Fatalf("a.log holds %d bytes after 3 000 written while the rename failed", len(data))
	}
	if tries > 17 { // one try per 125 bytes past 1 000
		t.Errorf("%d renames tried for 2 000 bytes past the size", tries)
	}
	fails = false
	for range 3 { // the first write past the retry point rotates
		if _, err := f.Write(rec); err != nil {
			t.Fatal(err)
		}
	}
	all, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "a-*.log"))
	if len(all) != 1 {
		t.Fatalf("backups once the rename works again: %v", all)
	}
	old, _ := os.ReadFile(all[0])
	cur, _ := os.ReadFile(path)
	if len(old)+len(cur) != 3150 || len(old) < 3000 {
		t.Errorf("backup %d + current %d bytes, want the 3 000 and more in the backup, 3 150 in all", len(old), len(cur))
	}
}

// The file deleted under us (the rename then fails: nothing to rename) is
// made again, with the batch that found it gone.
func TestRotationOfADeletedFileKeepsTheBatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.log")
	f := newRotatingFile(path, 1000, 2)
	defer f.Close()
	if _, err := f.Write([]byte(strings.Repeat("x", 899) + "\n")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	rec := []byte("the line that must not be lost\n")
	if _, err := f.Write(append(rec, strings.Repeat("y", 200)...)); err != nil { // past the size: a rotation
		t.Fatalf("write: %v", err)
	}
	if data, _ := os.ReadFile(path); !strings.Contains(string(data), string(rec)) {
		t.Errorf("the batch written when the rotation failed is in no file (a.log holds %q)", data)
	}
}

// A log folder whose path holds a glob metacharacter (OUTRIGGER_HOME set
// to "/media/usb/Outrigger [portable]", a Windows "D:\Apps [x]") still has
// its backups pruned: before, the folder name was read as a pattern that
// matched nothing, and every rotation left one more 10 MB backup for ever.
func TestRotationPrunesInFolderWithGlobCharacters(t *testing.T) {
	for _, folder := range []string{"Outrigger [portable]", "logs [", `back\slash`, "star*q?"} {
		if runtime.GOOS == "windows" && strings.ContainsAny(folder, `\*?`) {
			continue // not a file name there
		}
		dir := filepath.Join(t.TempDir(), folder)
		f := newRotatingFile(filepath.Join(dir, "a.log"), 1000, 2)
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		rec := []byte(strings.Repeat("r", 99) + "\n")
		for range 100 { // 9 rotations
			if _, err := f.Write(rec); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 3 { // a.log and two backups
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			t.Errorf("folder %q: %d files, want a.log and 2 backups: %q", folder, len(entries), names)
		}
	}
}

// Backups lists only the rotated files of the log named, not those of a
// log whose name starts with the same text and a "-".
func TestBackupsAreOnlyThisLogs(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"xgen.log", "xgen-2026-01-02T00-00-00.000.log", "xgen-2026-01-01T00-00-00.000.log",
		"xgen-workflow.log", "xgen-workflow-2026-01-03T00-00-00.000.log", "xgen-notes.log"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	got := Backups(filepath.Join(dir, "xgen.log"))
	want := []string{filepath.Join(dir, "xgen-2026-01-01T00-00-00.000.log"), filepath.Join(dir, "xgen-2026-01-02T00-00-00.000.log")}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Backups = %q, want %q", got, want)
	}
}
