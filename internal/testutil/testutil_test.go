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
	if BuildFixture(t) != BuildFixture(t) {
		t.Error("BuildFixture built twice")
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
