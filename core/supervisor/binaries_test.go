package supervisor

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"outrigger/core/proc"
)

func TestResolveOrderAndNames(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	write := func(dir, name string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	plainB := write(b, "svc")
	if got, err := Resolve("svc", []string{a, b}); err != nil || got != plainB {
		t.Fatalf("Resolve = %q, %v; want plain name in the second folder", got, err)
	}
	tripleB := write(b, "svc-"+proc.HostTriple())
	if got, _ := Resolve("svc", []string{a, b}); got != tripleB {
		t.Fatalf("Resolve = %q, want the target-triple name before the plain one", got)
	}
	plainA := write(a, "svc")
	if got, _ := Resolve("svc", []string{a, b}); got != plainA {
		t.Fatalf("Resolve = %q, want the first folder to win", got)
	}
	if err := os.WriteFile(filepath.Join(a, "noexec"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Resolve("noexec", []string{a}); err == nil {
		t.Fatal("a non-executable file resolved")
	}
}

func TestResolveRefusesPaths(t *testing.T) {
	for _, bad := range []string{"../svc", "a/b", `a\b`, "/bin/sh", "..", ""} {
		if _, err := Resolve(bad, []string{t.TempDir()}); err == nil || errors.As(err, new(*NotFoundError)) {
			t.Errorf("Resolve(%q) = %v, want a refusal", bad, err)
		}
	}
}

func TestResolveNotFoundListsEveryFolder(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	_, err := Resolve("missing", []string{a, b})
	var nf *NotFoundError
	if !errors.As(err, &nf) || len(nf.Tried) != 4 {
		t.Fatalf("err = %v", err)
	}
	for _, d := range []string{a, b} {
		if !strings.Contains(err.Error(), filepath.Join(d, "missing-"+proc.HostTriple())) {
			t.Errorf("%v does not name %s", err, d)
		}
	}
}

func TestDefaultBinDirsOrder(t *testing.T) {
	extra := t.TempDir()
	t.Setenv("OUTRIGGER_BINARIES", extra)
	dirs := DefaultBinDirs()
	if len(dirs) < 3 || dirs[0] != extra {
		t.Fatalf("dirs = %v, want $OUTRIGGER_BINARIES first", dirs)
	}
	wd, _ := os.Getwd()
	if dirs[len(dirs)-1] != filepath.Join(wd, "binaries") {
		t.Fatalf("dirs = %v, want ./binaries last", dirs)
	}
}
