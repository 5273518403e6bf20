// Package instance keeps Outrigger to one running copy per user: a second
// launch asks the first to show its window and exits, so two supervisors
// never fight over the sidecars' ports.
//
// Files, in the user's runtime folder (config.Paths.RuntimeDir, made 0700):
//
//	outrigger.lock   held with an exclusive lock by the primary instance
//	outrigger.sock   a Unix domain socket (0600) the primary listens on
//
// The lock decides who is primary. The operating system releases it when its
// holder dies in any way (kill -9 included), so a crash never leaves a
// launch refusing to start, and two launches racing each other cannot both
// win. The socket only carries messages. A socket file a killed primary
// left behind is stale: the next primary, holding the lock, finds that a
// connection to it is refused and replaces it. (Should the lock file have
// been deleted under a live primary, its socket still answers, and the new
// launch defers to it instead of replacing it.)
//
// Protocol: one connection per message; the client writes one line (at
// most MaxMessage bytes) and the primary answers "ok\n" once its handler
// has returned, or "error: ...\n".
//
// Windows 10 (1803) and later have AF_UNIX sockets, which Go's net package
// uses, so the same design runs there; the folder's permissions come from
// the user's profile (%LocalAppData%) rather than from mode bits, and the
// lock is LockFileEx.
//
// A socket path must be short: about 104 bytes on macOS, 108 on Linux.
// The runtime folders config.Paths chooses are well within it.
package instance

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
)

const (
	// SocketName and LockName are the files made in the runtime folder.
	SocketName = "outrigger.sock"
	LockName   = "outrigger.lock"
	// ShowMessage is what a second launch sends: bring the window forward.
	ShowMessage = "show"
	// MaxMessage is the longest line the primary accepts, newline excluded.
	MaxMessage = 256
)

// ErrRunning is returned by Acquire when another instance is running; the
// message was delivered to it unless the error also says it did not answer.
var ErrRunning = errors.New("instance: Outrigger is already running")

// Timeouts; variables so tests can shorten them.
var (
	// ioTimeout bounds one message exchange, on both sides.
	ioTimeout = 2 * time.Second
	// answerWait is how long a second launch keeps trying to reach a
	// primary that holds the lock but is not listening yet (it is between
	// taking the lock and binding the socket).
	answerWait = 3 * time.Second
)

// Instance is the primary instance: it holds the lock and serves the
// socket until Close.
type Instance struct {
	sock      string
	lock      *os.File
	ln        net.Listener
	onMessage func(string)
	stale     bool

	quit      chan struct{} // closed by Close: the serve loop is to end
	done      chan struct{} // closed by serve when it has ended
	closeOnce sync.Once
	closeErr  error
}

// Acquire becomes the primary instance or, if one is running, sends it
// "show" and returns ErrRunning (and a nil Instance).
//
// As primary, onMessage (may be nil) is called with each message a later
// launch sends, one at a time, from the Instance's own goroutine, never
// after Close has returned. It should return quickly (hand work to the UI
// thread, do not wait for it): the sender waits for it, up to a couple of
// seconds.
func Acquire(runtimeDir string, onMessage func(msg string)) (*Instance, error) {
	if runtimeDir == "" {
		return nil, errors.New("instance: no runtime folder")
	}
	if err := ensureDir(runtimeDir); err != nil {
		return nil, err
	}
	sock := filepath.Join(runtimeDir, SocketName)
	lockPath := filepath.Join(runtimeDir, LockName)
	lock, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("instance: %w", err)
	}
	held, err := tryLock(lock)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("instance: lock %s: %w", lockPath, err)
	}
	if !held {
		// Another instance holds the lock: it is alive. Tell it.
		lock.Close()
		if err := sendRetry(sock, ShowMessage, answerWait); err != nil {
			return nil, fmt.Errorf("%w, but it did not answer on %s: %v", ErrRunning, sock, err)
		}
		return nil, ErrRunning
	}

	// We hold the lock. A socket file left here belongs to a dead instance
	// — unless it answers (the lock file was deleted under a live one).
	inst := &Instance{sock: sock, lock: lock, onMessage: onMessage}
	if _, err := os.Lstat(sock); err == nil {
		if send(sock, ShowMessage) == nil {
			unlock(lock)
			lock.Close()
			return nil, ErrRunning
		}
		if err := os.Remove(sock); err != nil && !errors.Is(err, fs.ErrNotExist) {
			inst.release()
			return nil, fmt.Errorf("instance: removing the stale socket: %w", err)
		}
		inst.stale = true
	}
	ln, err := net.Listen("unix", sock)
	if err != nil {
		inst.release()
		return nil, fmt.Errorf("instance: listen on %s: %w", sock, err)
	}
	if runtime.GOOS != "windows" {
		if err := os.Chmod(sock, 0o600); err != nil {
			ln.Close()
			inst.release()
			return nil, fmt.Errorf("instance: %w", err)
		}
	}
	inst.ln = ln
	inst.quit = make(chan struct{})
	inst.done = make(chan struct{})
	go inst.serve()
	return inst, nil
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

// Path is the socket's path.
func (i *Instance) Path() string { return i.sock }

// ReplacedStale reports whether Acquire found a socket a dead instance had
// left behind, and replaced it.
func (i *Instance) ReplacedStale() bool { return i.stale }

// Close stops listening, waits for the serving goroutine to end, removes
// the socket and releases the lock. Later calls return the first result.
func (i *Instance) Close() error {
	i.closeOnce.Do(func() {
		close(i.quit)
		err := i.ln.Close()
		<-i.done
		// Go unlinks a socket it bound on Close; make sure of it, as we
		// still hold the lock nobody else can have bound a new one here.
		if rerr := os.Remove(i.sock); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) && err == nil {
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
	err := unlock(i.lock)
	if cerr := i.lock.Close(); err == nil {
		err = cerr
	}
	return err
}

// serve accepts connections until Close, one at a time.
func (i *Instance) serve() {
	defer close(i.done)
	backoff := 5 * time.Millisecond
	for {
		c, err := i.ln.Accept()
		if err != nil {
			select {
			case <-i.quit:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: wait, then go on.
			select {
			case <-i.quit:
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		i.handle(c)
	}
}

// handle reads one line and answers it.
func (i *Instance) handle(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(ioTimeout))
	line, err := bufio.NewReaderSize(io.LimitReader(c, MaxMessage+2), MaxMessage+2).ReadString('\n')
	if err != nil {
		if errors.Is(err, io.EOF) && len(line) > MaxMessage {
			io.WriteString(c, "error: message too long\n")
		}
		return // no complete line: the client gave up or misbehaved
	}
	msg := strings.TrimRight(line, "\r\n")
	if len(msg) > MaxMessage {
		io.WriteString(c, "error: message too long\n")
		return
	}
	if i.onMessage != nil {
		i.onMessage(msg)
	}
	io.WriteString(c, "ok\n")
}

// send delivers one message to the instance listening on sock.
func send(sock, msg string) error {
	if strings.ContainsAny(msg, "\r\n") || len(msg) > MaxMessage {
		return fmt.Errorf("instance: invalid message %q", msg)
	}
	c, err := net.DialTimeout("unix", sock, ioTimeout)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(ioTimeout))
	if _, err := io.WriteString(c, msg+"\n"); err != nil {
		return err
	}
	reply, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return fmt.Errorf("no answer: %w", err)
	}
	if reply = strings.TrimRight(reply, "\r\n"); reply != "ok" {
		return fmt.Errorf("answer %q", reply)
	}
	return nil
}

// sendRetry keeps trying send until it succeeds or wait has passed.
func sendRetry(sock, msg string, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		err := send(sock, msg)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(25 * time.Millisecond)
	}
}
