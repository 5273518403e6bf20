//go:build unix

package testutil

import (
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// claimPort takes a machine-wide claim on port for as long as this process
// lives: an flock on a file named for it in a shared folder. Test binaries
// of different packages run at once (go test -p), and each probes a port
// free the moment before its sidecar binds it; the claim keeps another
// binary from picking the same port in between. The kernel drops the lock
// when the process ends, so a killed test leaves no stale claim.
func claimPort(port int) bool {
	dir := filepath.Join(os.TempDir(), "outrigger-test-ports")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return true // no shared folder: the listen probe alone decides
	}
	f, err := os.OpenFile(filepath.Join(dir, strconv.Itoa(port)), os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return true
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return false // another test binary holds it
	}
	claims = append(claims, f) // held open, so locked, until the process ends
	return true
}

// claims are the open lock files of claimPort (guarded by handedOut).
var claims []*os.File
