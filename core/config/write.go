package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// saveMu serializes WriteFile and Update within the process, so that the
// settings editor and the mode controller never lose each other's change.
var saveMu sync.Mutex

// WriteAtomic replaces path with data so that a reader (or a crash) sees
// either the old or the new content, never a mix: a temporary file in the
// same folder is written, fsynced, closed and renamed over path, then the
// folder is fsynced (not on Windows). Missing folders are created (0700).
// If path is a symbolic link, the file it points to is replaced and the
// link kept.
func WriteAtomic(path string, data []byte, perm os.FileMode) error {
	return writeAtomic(path, data, perm)
}

func writeAtomic(path string, data []byte, perm os.FileMode) (err error) {
	if fi, lerr := os.Lstat(path); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
		if target, terr := filepath.EvalSymlinks(path); terr == nil {
			path = target
		}
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("config: writing %s: %w", tmp.Name(), err)
	}
	if err = tmp.Chmod(perm); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("config: fsync %s: %w", tmp.Name(), err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if runtime.GOOS != "windows" {
		if err := syncDir(dir); err != nil {
			return fmt.Errorf("config: fsync %s: %w", dir, err)
		}
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return err // EINVAL: the file system cannot sync folders; nothing to do
	}
	return nil
}

// WriteFile saves f to path (0600, folders created): the current file, if
// any, is first kept as path+".bak", then f is written with WriteAtomic.
// Nothing is written when the content would not change (so the .bak keeps
// the real previous version), and nothing is written when f would not load:
// f must parse back and merge over Defaults() without error, so the app can
// never save a file that stops it from starting.
func WriteFile(path string, f File) error {
	saveMu.Lock()
	defer saveMu.Unlock()
	return writeFile(path, f)
}

func writeFile(path string, f File) error {
	data, err := Marshal(f)
	if err != nil {
		return err
	}
	if _, err := Parse(path, data); err != nil {
		return fmt.Errorf("config: not saving %s: %w", path, err)
	}
	if _, err := Merge(Defaults(), f); err != nil {
		return fmt.Errorf("config: not saving %s, it would not load: %w", path, err)
	}
	if target, err := filepath.EvalSymlinks(path); err == nil {
		path = target
	}
	old, err := os.ReadFile(path)
	switch {
	case err == nil:
		if bytes.Equal(old, data) {
			return nil
		}
		if err := WriteAtomic(path+".bak", old, 0o600); err != nil {
			return err
		}
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("config: %w", err)
	}
	return WriteAtomic(path, data, 0o600)
}

// Update reads the file at path (missing = empty), lets fn change it and
// saves it with WriteFile. If fn returns an error nothing is written. Calls
// in this process are serialized; fn must not call WriteFile or Update.
// The settings editor and the mode controller use it:
//
//	config.Update(paths.ConfigFile, func(f *config.File) error {
//		f.Mode = config.Ptr(config.ModeConnected)
//		f.GatewayURL = config.Ptr(url)
//		return nil
//	})
func Update(path string, fn func(*File) error) error {
	saveMu.Lock()
	defer saveMu.Unlock()
	f, err := ReadFile(path)
	if err != nil {
		return err
	}
	if err := fn(&f); err != nil {
		return err
	}
	return writeFile(path, f)
}

// SetAside renames a file that cannot be used (a corrupt outrigger.toml or
// settings file) to path+".corrupt-YYYYMMDD-HHMMSS" beside it, so that the
// defaults can be used and saved while the user's file is kept, never
// deleted. It returns the new name.
func SetAside(path string) (string, error) {
	saveMu.Lock()
	defer saveMu.Unlock()
	base := path + ".corrupt-" + time.Now().Format("20060102-150405")
	dst := base
	for i := 2; ; i++ {
		if _, err := os.Lstat(dst); errors.Is(err, fs.ErrNotExist) {
			break
		}
		dst = fmt.Sprintf("%s-%d", base, i)
	}
	if err := os.Rename(path, dst); err != nil {
		return "", fmt.Errorf("config: %w", err)
	}
	if runtime.GOOS != "windows" {
		_ = syncDir(filepath.Dir(dst))
	}
	return dst, nil
}
