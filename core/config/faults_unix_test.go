//go:build unix

package config

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// helperMode runs the fault helpers below when the test binary is started
// as a child process by one of the tests.
func TestMain(m *testing.M) {
	switch {
	case os.Getenv("OUTRIGGER_TEST_READONLY") != "":
		fmt.Println(readOnlySave(os.Getenv("OUTRIGGER_TEST_READONLY")))
		os.Exit(0)
	case os.Getenv("OUTRIGGER_TEST_SAVELOOP") != "":
		saveLoop(os.Getenv("OUTRIGGER_TEST_SAVELOOP"))
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// readOnlySave opens the settings file in a folder it cannot write and
// tries to save: the outcome, in one line.
func readOnlySave(path string) string {
	st, err := Open(path, true)
	if err != nil {
		return "open: " + err.Error()
	}
	before := st.Config()
	err = st.Update(func(f *File) error { f.Mode = Ptr(ModeStandalone); return nil })
	return fmt.Sprintf("unchanged=%v err=%v", reflect.DeepEqual(before, st.Config()), err)
}

// A settings folder that cannot be written: the save fails with a message
// that names the file and the folder, and the running app keeps its
// configuration and its file. Root ignores permissions, so as root the
// attempt runs in a child process as nobody.
func TestSaveToReadOnlyFolder(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("folder permissions differ")
	}
	base, err := os.MkdirTemp("", "outrigger-ro-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(filepath.Join(base, "cfg"), 0o700); _ = os.RemoveAll(base) })
	dir := filepath.Join(base, "cfg")
	path := filepath.Join(dir, "outrigger.toml")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(specExample), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	var out string
	if os.Geteuid() != 0 {
		out = readOnlySave(path)
	} else {
		exe, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		bin := filepath.Join(base, "config.test")
		if err := copyFile(exe, bin); err != nil {
			t.Fatal(err)
		}
		c := exec.Command(bin)
		c.Env = append(os.Environ(), "OUTRIGGER_TEST_READONLY="+path)
		c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		b, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, b)
		}
		out = strings.TrimSpace(string(b))
	}
	if !strings.HasPrefix(out, "unchanged=true err=config: cannot save "+path) || !strings.Contains(out, "the folder "+dir+" must be writable") ||
		!strings.Contains(out, "permission denied") {
		t.Errorf("outcome: %s", out)
	}
	if b, _ := os.ReadFile(path); string(b) != specExample {
		t.Error("the file changed")
	}
}

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

// saveLoop saves two versions of the file in turn, forever; it says
// "saving" once the loop runs.
func saveLoop(path string) {
	st, err := Open(path, false)
	if err != nil {
		fmt.Println("open:", err)
		return
	}
	fmt.Println("saving")
	big := strings.Repeat("v", 64<<10) // a write that takes more than one syscall
	for {
		err := st.Update(func(f *File) error {
			if f.Mode != nil && *f.Mode == ModeStandalone {
				f.Mode = Ptr(ModeService)
				f.SetSidecar(SidecarFile{Name: "xgen-embedding", Env: map[string]string{"PAD": big}})
			} else {
				f.Mode = Ptr(ModeStandalone)
				f.SetSidecar(SidecarFile{Name: "xgen-embedding", Env: map[string]string{"PAD": "short"}})
			}
			return nil
		})
		if err != nil {
			fmt.Println("save:", err)
			return
		}
	}
}

// kill -9 at any moment of a save, many times: the file is always the old
// or the new version, whole, and the .bak a valid one too.
func TestKillDuringSave(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGKILL")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "outrigger.toml")
	if err := os.WriteFile(path, []byte("mode = \"standalone\"\n[[sidecar]]\nname = \"xgen-embedding\"\nenv = { PAD = \"short\" }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	runs := 40
	if testing.Short() {
		runs = 10
	}
	for i := range runs {
		c := exec.Command(exe)
		c.Env = append(os.Environ(), "OUTRIGGER_TEST_SAVELOOP="+path)
		stdout, err := c.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		if strings.TrimSpace(line) != "saving" {
			_ = c.Process.Kill()
			_ = c.Wait()
			t.Fatalf("run %d: child said %q", i, line)
		}
		// A random moment within the next few saves: not a wait for
		// anything, the point of the test.
		time.Sleep(time.Duration(rand.IntN(20000)) * time.Microsecond)
		_ = c.Process.Signal(syscall.SIGKILL)
		if err := c.Wait(); err == nil || !isKilled(err) {
			t.Fatalf("run %d: child ended by itself: %v", i, err)
		}
		for _, p := range []string{path, path + ".bak"} {
			if _, err := os.Stat(p); p != path && os.IsNotExist(err) {
				continue // no save finished yet
			}
			c, _, err := Load(p)
			if err != nil {
				t.Fatalf("run %d: %s is torn: %v", i, filepath.Base(p), err)
			}
			// Whole versions only: standalone with the short value, or
			// service with the long one (an empty file would load too).
			s, _ := c.Sidecar("xgen-embedding")
			if !(c.Mode == ModeStandalone && s.Env["PAD"] == "short" || c.Mode == ModeService && len(s.Env["PAD"]) == 64<<10) {
				t.Fatalf("run %d: %s is no version that was saved: mode %q, PAD of %d bytes", i, filepath.Base(p), c.Mode, len(s.Env["PAD"]))
			}
		}
	}
}

func isKilled(err error) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}
