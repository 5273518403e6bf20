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
