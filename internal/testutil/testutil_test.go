package testutil

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

func TestMain(m *testing.M) { RunMain(m) }

func TestTriple(t *testing.T) {
	if runtime.GOOS == "linux" && runtime.GOARCH == "amd64" && Triple() != "x86_64-unknown-linux-gnu" {
		t.Errorf("Triple() = %q", Triple())
	}
}

func TestBinDir(t *testing.T) {
	dir := BinDir(t, "alpha", "beta")
	for _, n := range []string{"alpha", "beta"} {
		fi, err := os.Stat(filepath.Join(dir, n+"-"+Triple()+ExeSuffix()))
		if err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", n, err)
		}
	}
	// Built once per process: a second call neither runs go build nor
	// rewrites the binary (same file, same modification time).
	first := BuildFixture(t)
	fi1, err := os.Stat(first)
	if err != nil {
		t.Fatal(err)
	}
	second := BuildFixture(t)
	fi2, err := os.Stat(second)
	if err != nil {
		t.Fatal(err)
	}
	if n := buildRuns(FixtureImportPath, "fixture"); n != 1 {
		t.Errorf("the fixture was built %d times, want 1", n)
	}
	if second != first || !os.SameFile(fi1, fi2) || !fi1.ModTime().Equal(fi2.ModTime()) {
		t.Errorf("second BuildFixture gave %s (%v), first %s (%v): rebuilt", second, fi2.ModTime(), first, fi1.ModTime())
	}
}

func TestFreePortAndAlive(t *testing.T) {
	if p := FreePort(t); p <= 0 || p > 65535 {
		t.Errorf("port %d", p)
	}
	if !ProcessAlive(os.Getpid()) {
		t.Error("we are not alive")
	}
	if ProcessAlive(-1) {
		t.Error("pid -1 alive")
	}
	n := 0
	Eventually(t, time.Second, func() bool { n++; return n == 3 })
}

// FreePort never returns the same port twice in one process, even when the
// range is tiny and the first port is free again at once.
func TestFreePortNeverRepeats(t *testing.T) {
	seen := map[int]bool{}
	for range 500 {
		p := FreePort(t)
		if seen[p] {
			t.Fatalf("FreePort returned %d twice", p)
		}
		seen[p] = true
	}
}
