package supervisor

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"outrigger/core/proc"
	"outrigger/internal/testutil"
)

func TestResolveOrderAndNames(t *testing.T) {
	a, b := testutil.TempDir(t), testutil.TempDir(t)
	write := func(dir, name string) string {
		p := filepath.Join(dir, name+proc.ExeSuffix())
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
	if runtime.GOOS == "windows" {
		return // every file is executable there
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
		if _, err := Resolve(bad, []string{testutil.TempDir(t)}); err == nil || errors.As(err, new(*NotFoundError)) {
			t.Errorf("Resolve(%q) = %v, want a refusal", bad, err)
		}
	}
}

func TestResolveNotFoundListsEveryFolder(t *testing.T) {
	a, b := testutil.TempDir(t), testutil.TempDir(t)
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
	extra := testutil.TempDir(t)
	t.Setenv("OUTRIGGER_BINARIES", extra)
	t.Chdir(testutil.TempDir(t)) // not the test binary's folder, whose binaries/ is the app's own
	wd, _ := os.Getwd()
	cwdBins := filepath.Join(wd, "binaries")

	setDevBuild(t, "")
	dirs := DefaultBinDirs()
	if len(dirs) < 2 || dirs[0] != extra {
		t.Fatalf("dirs = %v, want $OUTRIGGER_BINARIES first", dirs)
	}
	if slices.Contains(dirs, cwdBins) {
		t.Fatalf("dirs = %v: a release build must not search ./binaries", dirs)
	}

	setDevBuild(t, "yes")
	dirs = DefaultBinDirs()
	if dirs[len(dirs)-1] != cwdBins {
		t.Fatalf("dirs = %v, want ./binaries last in a development build", dirs)
	}
}

func setDevBuild(t *testing.T, v string) {
	old := devBuild
	devBuild = v
	t.Cleanup(func() { devBuild = old })
}

// lookupEnv makes this test binary print what Resolve finds for the named
// binary and exit (see init): TestLookupFromAnotherFolder runs a copy of it
// as "the app", from another working directory.
const lookupEnv = "OUTRIGGER_TEST_LOOKUP"

func init() {
	name := os.Getenv(lookupEnv)
	if name == "" {
		return
	}
	devBuild = os.Getenv(lookupEnv + "_DEV")
	p, err := Resolve(name, DefaultBinDirs())
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println(p)
	os.Exit(0)
}

// TestLookupFromAnotherFolder: an app installed as <dir>/outrigger with its
// sidecars in <dir>/binaries (what `make build` and the packages lay out)
// finds them wherever it is started from; a binary planted in ./binaries of
// the working directory is never preferred, and is not even looked at
// outside development builds.
func TestLookupFromAnotherFolder(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	root := testutil.TempDir(t)
	appDir, elsewhere := filepath.Join(root, "bin"), filepath.Join(root, "elsewhere")
	for _, d := range []string{filepath.Join(appDir, "binaries"), filepath.Join(elsewhere, "binaries")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	app := filepath.Join(appDir, "outrigger"+proc.ExeSuffix())
	testutil.CopyExecutable(t, self, app)
	own := filepath.Join(appDir, "binaries", "svc-"+proc.HostTriple()+proc.ExeSuffix())
	testutil.CopyExecutable(t, self, own)
	planted := filepath.Join(elsewhere, "binaries", "planted-"+proc.HostTriple()+proc.ExeSuffix())
	testutil.CopyExecutable(t, self, planted)
	testutil.CopyExecutable(t, self, filepath.Join(elsewhere, "binaries", "svc-"+proc.HostTriple()+proc.ExeSuffix()))

	lookup := func(name, dev string) (string, error) {
		cmd := exec.Command(app)
		cmd.Dir = elsewhere
		cmd.Env = append(os.Environ(), lookupEnv+"="+name, lookupEnv+"_DEV="+dev, "OUTRIGGER_BINARIES=")
		out, err := cmd.Output()
		return strings.TrimSpace(string(out)), err
	}
	for _, dev := range []string{"", "yes"} {
		if got, err := lookup("svc", dev); err != nil || got != own {
			t.Errorf("dev=%q: svc resolved to %q (%v), want the app's own %s", dev, got, err, own)
		}
	}
	if got, err := lookup("planted", ""); err == nil {
		t.Errorf("release build ran a binary planted in the working directory: %s", got)
	}
	if got, err := lookup("planted", "yes"); err != nil || got != planted {
		t.Errorf("development build: planted resolved to %q (%v), want ./binaries searched last", got, err)
	}
}
