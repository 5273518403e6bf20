package proc

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// GuardianEnv marks a process started as the guardian. An executable that
// supervises sidecars calls RunGuardianIfRequested first thing in main (and
// test binaries in TestMain).
const GuardianEnv = "OUTRIGGER_GUARDIAN"

// Guardian is the supervisor's handle on its guardian process: a tiny copy
// of the same executable that holds the read end of a pipe whose write end
// only the supervisor has. When the supervisor dies, in any way, the kernel
// closes that pipe; the guardian reads EOF and ends every process group it
// was told about. A parent-death signal alone reaches only direct children,
// not the grandchild that serves in a PyInstaller --onefile sidecar.
type Guardian struct {
	mu  sync.Mutex
	w   *os.File
	cmd *exec.Cmd
}

// StartGuardian starts exe (normally os.Executable()) in guardian mode.
func StartGuardian(exe string) (*Guardian, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("guardian pipe: %w", err)
	}
	cmd := exec.Command(exe)
	// LC_ALL: the executable may link a GUI toolkit whose package init
	// complains about a "C" locale; the guardian prints nothing of its own.
	cmd.Env = append(os.Environ(), GuardianEnv+"=1", "LC_ALL=en_US.UTF-8")
	cmd.Stdin = r
	cmd.Stderr = os.Stderr
	guardianAttrs(cmd)
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("start guardian: %w", err)
	}
	r.Close() // only the guardian holds the read end now
	return &Guardian{w: w, cmd: cmd}, nil
}

// Watch tells the guardian about a started tree.
func (g *Guardian) Watch(t *Tree, createTime int64) error {
	return g.send(fmt.Sprintf("+ %d %d %d\n", t.PGID, t.PID, createTime))
}

// Forget tells the guardian a tree has ended.
func (g *Guardian) Forget(t *Tree) error {
	return g.send(fmt.Sprintf("- %d\n", t.PGID))
}

func (g *Guardian) send(line string) error {
	if g == nil {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.w == nil {
		return fmt.Errorf("guardian closed")
	}
	_, err := io.WriteString(g.w, line)
	return err
}

// Close ends the guardian after a clean shutdown: it closes the pipe, so
// the guardian ends whatever it still knows about (normally nothing) and
// exits, and waits for it.
func (g *Guardian) Close() error {
	if g == nil {
		return nil
	}
	g.mu.Lock()
	w := g.w
	g.w = nil
	g.mu.Unlock()
	if w == nil {
		return nil
	}
	w.Close()
	return g.cmd.Wait()
}

// RunGuardianIfRequested turns this process into the guardian when it was
// started as one, and never returns in that case.
func RunGuardianIfRequested() {
	if os.Getenv(GuardianEnv) != "1" {
		return
	}
	runGuardian(os.Stdin)
	os.Exit(0)
}

type watched struct {
	pid        int
	createTime int64
}

// runGuardian reads watch/forget lines until EOF, then ends every group
// still watched: SIGTERM, a short grace, SIGKILL.
func runGuardian(in io.Reader) {
	ignoreSignals()
	groups := map[int]watched{}
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		pgid, err := strconv.Atoi(f[1])
		if err != nil {
			continue
		}
		switch f[0] {
		case "+":
			var w watched
			if len(f) >= 4 {
				w.pid, _ = strconv.Atoi(f[2])
				w.createTime, _ = strconv.ParseInt(f[3], 10, 64)
			}
			groups[pgid] = w
		case "-":
			delete(groups, pgid)
		}
	}
	var live []int
	for pgid, w := range groups {
		// A group whose leader's pid now names another process is not ours.
		if w.pid != 0 && Check(w.pid, w.createTime) == Replaced {
			continue
		}
		if GroupAlive(pgid) {
			_ = TerminateGroup(pgid)
			live = append(live, pgid)
		}
	}
	deadline := time.Now().Add(750 * time.Millisecond)
	for len(live) > 0 && time.Now().Before(deadline) {
		time.Sleep(25 * time.Millisecond) // foreign processes: nothing to wait on but time
		live = stillAlive(live)
	}
	for _, pgid := range live {
		_ = KillGroup(pgid)
	}
}

func stillAlive(groups []int) []int {
	out := groups[:0]
	for _, g := range groups {
		if GroupAlive(g) {
			out = append(out, g)
		}
	}
	return out
}
