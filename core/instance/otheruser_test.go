//go:build linux

package instance

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"outrigger/internal/testutil"
)

// TestOtherUserIsRefused connects to the socket as another user (nobody,
// through a setuid subprocess: only root can start one). It first opens
// the folder and the socket to everyone, to show that the subprocess can
// connect at all, then puts the socket back to 0600 with the folder still
// open, so only the socket's own mode stands in the way.
func TestOtherUserIsRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root can run a process as another user; as a regular user the folder (0700) and socket (0600) modes are checked by TestPermissions")
	}
	const nobody = 65534
	base := runtimeDir(t)
	inst := mustAcquire(t, base)
	dir := filepath.Dir(inst.Path())

	// The test binary, where nobody can run it.
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	binDir, err := os.MkdirTemp("", "oi-bin")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(binDir) })
	os.Chmod(binDir, 0o755)
	bin := filepath.Join(binDir, "dialer")
	testutil.CopyExecutable(t, exe, bin)

	dialAs := func() string {
		cmd := exec.Command(bin, "-test.run=^$")
		cmd.Env = []string{dialEnv + "=" + inst.Path()}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("dialer as nobody: %v\n%s", err, out)
		}
		return string(out)
	}

	// Everyone's folders on the way, and the socket open: nobody connects.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(inst.Path(), 0o666); err != nil {
		t.Fatal(err)
	}
	if out := dialAs(); !strings.HasPrefix(out, "connected: \"hello\\n\"") {
		t.Fatalf("with the socket open to everyone, nobody got %q; the refusal below would prove nothing", out)
	}
	// Back to 0600, folder still open: refused by the socket's own mode.
	if err := os.Chmod(inst.Path(), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := dialAs(); !strings.HasPrefix(out, "refused:") || !strings.Contains(out, "permission denied") {
		t.Fatalf("nobody connecting to the 0600 socket: %q, want refused with permission denied", out)
	}
}
