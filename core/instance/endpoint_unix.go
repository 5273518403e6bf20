//go:build !windows

package instance

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// Address is the endpoint of the instance whose runtime folder is dir: the
// socket's path.
func Address(runtimeDir string) string { return filepath.Join(runtimeDir, SocketName) }

// listen binds the socket and makes it owner-only (connecting needs write
// permission on it). Between bind and chmod it has the umask's mode, but
// the 0700 folder already keeps every other user from reaching it; the
// umask itself is process-wide, so it is not touched.
func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("unix", addr)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(addr, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

// clearStale removes a socket nobody answers on. A socket that answers
// belongs to a live instance whose lock file was deleted: ErrRunning.
func clearStale(addr string) (bool, error) {
	if _, err := os.Lstat(addr); err != nil {
		return false, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if c, err := dial(ctx, addr); err == nil {
		c.Close()
		return false, ErrRunning
	}
	if err := os.Remove(addr); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("instance: removing the stale socket: %w", err)
	}
	return true, nil
}

func removeEndpoint(addr string) error {
	if err := os.Remove(addr); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

func dial(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "unix", addr)
}

func notRunning(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT)
}
