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

// listen creates the pipe owned by the current user (named, not left to
// the token's default owner: an elevated administrator's is the
// Administrators group, which dial would not take for ours) with a DACL
// that grants that user full access and nobody else anything (P:
// protected, no inherited entries).
func listen(addr string) (net.Listener, error) {
	sid, err := currentUserSID()
	if err != nil {
		return nil, err
	}
	return winio.ListenPipe(addr, &winio.PipeConfig{
		SecurityDescriptor: "O:" + sid + "D:P(A;;GA;;;" + sid + ")",
		InputBufferSize:    64 << 10,
		OutputBufferSize:   64 << 10,
	})
}

func currentUserSID() (string, error) {
	sid, err := currentUser()
	if err != nil {
		return "", err
	}
	return sid.String(), nil
}

func currentUser() (*windows.SID, error) {
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return nil, fmt.Errorf("instance: current user: %w", err)
	}
	return u.User.Sid, nil
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

// dial connects to the pipe and checks that the current user owns it.
// Pipe names are global and derived from a folder anyone can guess, so
// another user of the machine could create ours before the app starts; the
// CLI would then send its commands to that user's program and believe its
// answers.
func dial(ctx context.Context, addr string) (net.Conn, error) {
	c, err := winio.DialPipeContext(ctx, addr)
	if err != nil {
		return nil, err
	}
	me, err := currentUser()
	if err == nil {
		err = checkOwner(c, me)
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("%s: %w", addr, err)
	}
	return c, nil
}

// checkOwner reads the owner of the pipe c is connected to and returns
// ErrForeignPipe unless it is want.
func checkOwner(c net.Conn, want *windows.SID) error {
	f, ok := c.(interface{ Fd() uintptr })
	if !ok {
		return fmt.Errorf("instance: no handle to check the pipe's owner (%T)", c)
	}
	sd, err := windows.GetSecurityInfo(windows.Handle(f.Fd()), windows.SE_KERNEL_OBJECT, windows.OWNER_SECURITY_INFORMATION)
	if err != nil {
		return fmt.Errorf("instance: the pipe's owner: %w", err)
	}
	owner, _, err := sd.Owner()
	if err != nil {
		return fmt.Errorf("instance: the pipe's owner: %w", err)
	}
	if owner == nil || !owner.Equals(want) {
		return fmt.Errorf("%w (owner %v)", ErrForeignPipe, owner)
	}
	return nil
}

func notRunning(err error) bool {
	return errors.Is(err, windows.ERROR_FILE_NOT_FOUND) || errors.Is(err, windows.ERROR_PATH_NOT_FOUND)
}
