package testutil

import (
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
)

// PrebuiltEnv names a folder of helper binaries built beforehand
// ({name}[.exe], e.g. fixture.exe). Test binaries cross-compiled for
// Windows and run under Wine have no Go toolchain to build them with;
// scripts/test-windows.sh builds them and sets this.
const PrebuiltEnv = "OUTRIGGER_TEST_PREBUILT"

func prebuilt(t testing.TB, dir, name string) string {
	t.Helper()
	p := filepath.Join(dir, name+ExeSuffix())
	if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("testutil: %s=%s but %s is not there: %v", PrebuiltEnv, dir, p, err)
	}
	return p
}

// TempDir is t.TempDir, except on Windows, where it removes the folder
// itself, deepest entries first: under Wine 8, Go's os.RemoveAll (and so
// t.TempDir's cleanup) fails with "Invalid function" while os.Remove works.
func TempDir(t testing.TB) string {
	t.Helper()
	if runtime.GOOS != "windows" {
		return t.TempDir()
	}
	dir, err := os.MkdirTemp("", "outrigger-test-")
	if err != nil {
		t.Fatalf("testutil: TempDir: %v", err)
	}
	t.Cleanup(func() {
		if err := RemoveTree(dir); err != nil {
			t.Errorf("testutil: TempDir cleanup: %v", err)
		}
	})
	return dir
}

// RemoveTree removes dir and everything in it with one os.Remove per entry
// (see TempDir for why not os.RemoveAll).
func RemoveTree(dir string) error {
	var paths []string
	err := filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		paths = append(paths, p)
		return nil
	})
	if err != nil {
		return err
	}
	slices.Reverse(paths) // children before their folder
	for _, p := range paths {
		if err := os.Remove(p); err != nil {
			return err
		}
	}
	return nil
}
