//go:build windows

package instance

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"
)

// Address is the endpoint of the instance whose runtime folder is dir: a
// named pipe whose name is derived from the folder, so each user (and each
// OUTRIGGER_HOME) has its own. Pipes live in one global namespace; the
// security descriptor, not the name, keeps other users out.
func Address(runtimeDir string) string {
	abs, err := filepath.Abs(runtimeDir)
	if err != nil {
		abs = runtimeDir
	}
	sum := sha256.Sum256([]byte(strings.ToLower(abs)))
	return `\\.\pipe\outrigger-` + hex.EncodeToString(sum[:8])
}

// listen creates the pipe with a DACL that grants the current user full
// access and nobody else anything (P: protected, no inherited entries).
func listen(addr string) (net.Listener, error) {
	sid, err := currentUserSID()
	if err != nil {
		return nil, err
	}
	return winio.ListenPipe(addr, &winio.PipeConfig{
		SecurityDescriptor: "D:P(A;;GA;;;" + sid + ")",
		InputBufferSize:    64 << 10,
		OutputBufferSize:   64 << 10,
	})
}

func currentUserSID() (string, error) {
	tok := windows.GetCurrentProcessToken()
	u, err := tok.GetTokenUser()
	if err != nil {
		return "", fmt.Errorf("instance: current user: %w", err)
	}
	return u.User.Sid.String(), nil
}

// clearStale: a pipe disappears with the process that created it, so
// nothing is ever stale. One that exists while we hold the lock belongs to
// a live instance whose lock file was deleted.
func clearStale(addr string) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	c, err := winio.DialPipeContext(ctx, addr)
	switch {
	case err == nil:
		c.Close()
		return false, ErrRunning
	case errors.Is(err, context.DeadlineExceeded):
		return false, ErrRunning // busy with other clients: alive
	}
	return false, nil
}

func removeEndpoint(string) error { return nil }

func dial(ctx context.Context, addr string) (net.Conn, error) {
	return winio.DialPipeContext(ctx, addr)
}

func notRunning(err error) bool {
	return errors.Is(err, windows.ERROR_FILE_NOT_FOUND) || errors.Is(err, windows.ERROR_PATH_NOT_FOUND)
}
