// Package safefile writes files so that a crash leaves the old or the new
// content, never a mix, and sets aside a file that cannot be used without
// ever deleting it. It is the one place that does either.
package safefile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"time"
)

// Write replaces path with data: a temporary file in the same folder is
// written, fsynced, closed and renamed over path, then the folder is
// fsynced (not on Windows). Missing folders are created (0700). A symbolic
// link at path is kept and the file it points to replaced.
func Write(path string, data []byte, perm os.FileMode) error {
	return write(path, data, perm, true)
}

// WriteVolatile replaces path with data like Write, without the two fsyncs.
// Readers and a crash of this process still see the old or the new content
// (the rename is atomic and the page cache outlives the process), but a
// crash of the whole system may lose or empty the file. That suits a file
// that describes only what is running now, which a reboot ends anyway: the
// state file of live sidecars. Its fsyncs cost 1–4 ms each on a virtual
// disk, paid before a sidecar could be Ready.
func WriteVolatile(path string, data []byte, perm os.FileMode) error {
	return write(path, data, perm, false)
}

func write(path string, data []byte, perm os.FileMode, durable bool) (err error) {
	if target, lerr := filepath.EvalSymlinks(path); lerr == nil {
		path = target
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", tmp.Name(), err)
	}
	if err = tmp.Chmod(perm); err != nil {
		return err
	}
	if durable {
		if err = tmp.Sync(); err != nil {
			return fmt.Errorf("fsync %s: %w", tmp.Name(), err)
		}
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if !durable {
		return nil
	}
	return syncDir(dir)
}

// syncDir makes a rename in dir durable. Windows cannot open a folder for
// syncing, and some file systems answer EINVAL: nothing more can be done.
// A variable so a test can make it fail.
var syncDir = syncDirFS

func syncDirFS(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	return nil
}

// SetAside renames a file that cannot be used to
// path+".corrupt-YYYYMMDD-HHMMSS" (then "-1", "-2", ... when that exists),
// so the caller can start afresh while the user's file is kept. It returns
// the new name; a missing file is "" and no error. A name with an error
// means the file was moved but the move may not survive a crash (the
// folder could not be synced): the caller goes on as moved.
func SetAside(path string) (string, error) {
	if _, err := os.Lstat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", nil
		}
		return "", fmt.Errorf("set %s aside: %w", path, err)
	}
	base := path + ".corrupt-" + time.Now().Format("20060102-150405")
	dst := base
	for i := 1; ; i++ {
		if _, err := os.Lstat(dst); errors.Is(err, fs.ErrNotExist) {
			break
		}
		if i > 1000 {
			return "", fmt.Errorf("set %s aside: too many %s* files", path, base)
		}
		dst = fmt.Sprintf("%s-%d", base, i)
	}
	if err := os.Rename(path, dst); err != nil {
		return "", fmt.Errorf("set %s aside: %w", path, err)
	}
	return dst, syncDir(filepath.Dir(dst))
}
