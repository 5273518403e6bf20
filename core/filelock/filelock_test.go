package filelock

import (
	"os"
	"path/filepath"
	"testing"

	"outrigger/internal/testutil"
)

// One holder at a time: a second open of the file cannot take the lock
// until the first lets go, by Unlock or by closing its file.
func TestOneHolder(t *testing.T) {
	path := filepath.Join(testutil.TempDir(t), "x.lock")
	open := func() *os.File {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	take := func(f *os.File, want bool, when string) {
		t.Helper()
		if held, err := TryLock(f); err != nil || held != want {
			t.Fatalf("%s: TryLock = %v, %v; want %v", when, held, err, want)
		}
	}
	a, b := open(), open()
	take(a, true, "first")
	take(b, false, "while a holds it")
	if err := Unlock(a); err != nil {
		t.Fatal(err)
	}
	take(b, true, "after a's Unlock")
	take(a, false, "while b holds it")
	b.Close()
	take(a, true, "after b's file closed")
}
