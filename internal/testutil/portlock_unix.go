//go:build unix

package testutil

import (
	"os"
	"path/filepath"
	"syscall"
)

// claimPort takes a machine-wide claim on port for as long as this process
// lives: a write lock on byte number port of one shared file. Test binaries
// of different packages run at once (go test -p), and each probes a port
// free the moment before its sidecar binds it; the claim keeps another
// binary from picking the same port in between. The kernel drops the locks
// when the process ends, so a killed test leaves no stale claim. (POSIX
// record locks belong to the process and go when any descriptor of the
// file is closed: the one descriptor stays open, and nothing else here
// opens that file.) Called with handedOut held.
func claimPort(port int) bool {
	if portsFile == nil {
		f, err := os.OpenFile(filepath.Join(os.TempDir(), "outrigger-test-ports.lock"), os.O_RDWR|os.O_CREATE, 0o666)
		if err != nil {
			return true // no shared file: the listen probe alone decides
		}
		portsFile = f
	}
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: 0, Start: int64(port), Len: 1}
	return syscall.FcntlFlock(portsFile.Fd(), syscall.F_SETLK, &lk) == nil
}

// portsFile is the open lock file of claimPort (guarded by handedOut).
var portsFile *os.File
