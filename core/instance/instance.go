// Package instance keeps Outrigger to one running copy per user and gives
// that copy its local endpoint: the listener the control API (core/control)
// serves HTTP/1.1 on. A second launch finds the first one's endpoint and
// talks to it (the CLI, or "show the window") instead of starting a second
// supervisor that would fight over the sidecars' ports.
//
// Files, in the user's runtime folder (appdirs.Paths.RuntimeDir, made 0700):
//
//	outrigger.lock   held with an exclusive lock by the primary instance
//	outrigger.sock   a Unix domain socket (0600) the primary listens on
//	                 (Linux, macOS; on Windows a named pipe, see Address)
//
// The lock decides who is primary. The operating system releases it when its
// holder dies in any way (kill -9 included), so a crash never leaves a
// launch refusing to start, and two launches racing each other cannot both
// win. A socket file a killed primary left behind is stale: the next
// primary, holding the lock, finds that a connection to it is refused and
// replaces it. (Should the lock file have been deleted under a live primary,
// its socket still answers, and the new launch defers to it instead of
// replacing it.)
//
// A socket path must be short: about 104 bytes on macOS, 108 on Linux.
// The runtime folders appdirs.Paths chooses are well within it.
package instance

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"outrigger/core/filelock"
)

const (
	// SocketName and LockName are the files made in the runtime folder.
	SocketName = "outrigger.sock"
	LockName   = "outrigger.lock"
)

// ErrForeignPipe is returned by Dial on Windows when the instance's named
// pipe belongs to another user of the machine.
var ErrForeignPipe = errors.New("instance: the pipe belongs to another user")

// ErrRunning is returned by Acquire when another instance is running.
var ErrRunning = errors.New("instance: Outrigger is already running")

// ErrNotRunning is returned by Dial when no instance answers.
var ErrNotRunning = errors.New("no Outrigger instance is running")

// AnswerWait is how long a launch that lost the lock keeps trying to reach
// the primary: it may be between taking the lock and listening.
const AnswerWait = 3 * time.Second

// Instance is the primary instance: it holds the lock and owns the
// listener until Close.
type Instance struct {
	addr  string
	lock  *os.File
	ln    net.Listener
	stale bool

	closeOnce sync.Once
	closeErr  error
}

// Acquire becomes the primary instance and returns it, listening; or
// returns ErrRunning (and a nil Instance) when another instance runs. It
// sends nothing: the caller talks to the running one through Dial.
func Acquire(runtimeDir string) (*Instance, error) {
	if runtimeDir == "" {
		return nil, errors.New("instance: no runtime folder")
	}
	if err := ensureDir(runtimeDir); err != nil {
		return nil, err
	}
	addr := Address(runtimeDir)
	lockPath := filepath.Join(runtimeDir, LockName)
	lock, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("instance: %w", err)
	}
	held, err := filelock.TryLock(lock)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("instance: lock %s: %w", lockPath, err)
	}
	if !held {
		lock.Close()
		return nil, ErrRunning
	}
	inst := &Instance{addr: addr, lock: lock}
	// We hold the lock. An endpoint left here belongs to a dead instance
	// — unless it answers (the lock file was deleted under a live one).
	stale, err := clearStale(addr)
	if err != nil {
		inst.release()
		if errors.Is(err, ErrRunning) {
			return nil, ErrRunning
		}
		return nil, err
	}
	inst.stale = stale
	ln, err := listen(addr)
	if err != nil {
		inst.release()
		return nil, fmt.Errorf("instance: listen on %s: %w", addr, err)
	}
	inst.ln = ln
	return inst, nil
}

// AcquireWithin is Acquire retried for up to wait while another instance
// holds the lock: for a launch that waited for the running instance to
// quit, whose lock is released a moment after its endpoint closes.
func AcquireWithin(runtimeDir string, wait time.Duration) (*Instance, error) {
	deadline := time.Now().Add(wait)
	for {
		inst, err := Acquire(runtimeDir)
		if !errors.Is(err, ErrRunning) || time.Now().After(deadline) {
			return inst, err
		}
		time.Sleep(25 * time.Millisecond) // another process's lock: there is nothing to wait on
	}
}

// ensureDir makes the runtime folder and keeps it owner-only.
func ensureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("instance: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("instance: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("instance: %s is not a folder", dir)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("instance: making %s owner-only: %w", dir, err)
		}
	}
	return nil
}

// Listener is the endpoint to serve on. Closing it (the HTTP server's
// Shutdown does) stops new connections; Close still has to be called.
func (i *Instance) Listener() net.Listener { return i.ln }

// Path is the endpoint's address: the socket's path, or the pipe's name.
func (i *Instance) Path() string { return i.addr }

// ReplacedStale reports whether Acquire found a socket a dead instance had
// left behind, and replaced it.
func (i *Instance) ReplacedStale() bool { return i.stale }

// Close stops listening, removes the socket and releases the lock. Later
// calls return the first result.
func (i *Instance) Close() error {
	i.closeOnce.Do(func() {
		err := i.ln.Close()
		if errors.Is(err, net.ErrClosed) {
			err = nil // the server closed it first
		}
		// Go unlinks a socket it bound on Close; make sure of it, as we
		// still hold the lock nobody else can have bound a new one here.
		if rerr := removeEndpoint(i.addr); rerr != nil && err == nil {
			err = rerr
		}
		if rerr := i.release(); rerr != nil && err == nil {
			err = rerr
		}
		i.closeErr = err
	})
	return i.closeErr
}

func (i *Instance) release() error {
	err := filelock.Unlock(i.lock)
	if cerr := i.lock.Close(); err == nil {
		err = cerr
	}
	return err
}

// Dial connects to the running instance's endpoint at addr (see Address).
// A missing or refusing endpoint is ErrNotRunning.
func Dial(ctx context.Context, addr string) (net.Conn, error) {
	c, err := dial(ctx, addr)
	if err != nil {
		if ctx.Err() == nil && notRunning(err) {
			return nil, fmt.Errorf("%w (%s: %v)", ErrNotRunning, addr, err)
		}
		return nil, err
	}
	return c, nil
}
