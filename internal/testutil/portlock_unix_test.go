//go:build unix

package testutil

import (
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// A port FreePort hands out stays claimed against other test binaries: a
// second open file description (what another process would have) cannot
// lock it.
func TestFreePortClaimsAcrossProcesses(t *testing.T) {
	p := FreePort(t)
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "outrigger-test-ports", strconv.Itoa(p)), os.O_RDWR, 0)
	if err != nil {
		t.Fatalf("no claim file for port %d: %v", p, err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
		t.Fatalf("port %d could be claimed again: another test binary could have picked it", p)
	}
}
