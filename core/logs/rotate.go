package logs

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// backupTimeFormat names rotated files <name>-<UTC time>.<ext>, the names
// lumberjack gave them, so backups written by earlier versions are still
// counted and pruned.
const backupTimeFormat = "2006-01-02T15-04-05.000"

// rotatingFile appends to path and, before a write would take the file past
// maxSize bytes, renames it to a timestamped backup, starts a new file and
// removes all but the newest backups. Every log file (the app's and each
// sidecar's) has one, and it does all of this inline in Write: a rename and
// a folder listing cost little next to the ≤ 64 KiB batch the flushWriter
// writes, so no file needs a goroutine of its own (lumberjack starts one
// per file that never ends). It is not safe for concurrent use; its
// flushWriter serialises writes.
type rotatingFile struct {
	path    string
	maxSize int64
	backups int
	f       *os.File
	size    int64
	// retryAt, once a rotation failed, is the size at which the next is
	// tried (0: none failed). Until then the file grows past maxSize: the
	// lines are kept rather than dropped. On Windows a rename fails while
	// another program holds the file open without FILE_SHARE_DELETE (an
	// editor, a tail tool, a virus scanner); here too if it was deleted.
	retryAt int64
}

// renameFile is os.Rename; a test makes it fail.
var renameFile = os.Rename

func newRotatingFile(path string, maxSize int64, backups int) *rotatingFile {
	return &rotatingFile{path: path, maxSize: maxSize, backups: backups}
}

func (r *rotatingFile) Write(p []byte) (int, error) {
	if r.f == nil {
		if err := r.open(); err != nil {
			return 0, err
		}
	}
	limit := r.maxSize
	if r.retryAt > 0 {
		limit = r.retryAt
	}
	if r.size > 0 && r.size+int64(len(p)) > limit {
		if err := r.rotate(); err != nil {
			if r.f == nil {
				if err := r.open(); err != nil {
					return 0, err
				}
			}
			r.retryAt = max(r.size+int64(len(p)), r.maxSize) + r.maxSize/8
		} else {
			r.retryAt = 0
		}
	}
	n, err := r.f.Write(p)
	r.size += int64(n)
	return n, err
}

func (r *rotatingFile) open() error {
	f, err := os.OpenFile(r.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("logs: open %s: %w", r.path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("logs: open %s: %w", r.path, err)
	}
	r.f, r.size = f, st.Size()
	return nil
}

// rotate moves the current file aside and opens a new one. When it fails
// the file may be closed (r.f nil): Write opens it again.
func (r *rotatingFile) rotate() error {
	err := r.f.Close()
	r.f = nil
	if err != nil {
		return fmt.Errorf("logs: close %s: %w", r.path, err)
	}
	ext := filepath.Ext(r.path)
	base := strings.TrimSuffix(r.path, ext)
	at := time.Now().UTC()
	backup := base + "-" + at.Format(backupTimeFormat) + ext
	for {
		// Two rotations in one millisecond must not overwrite a backup.
		if _, err := os.Lstat(backup); os.IsNotExist(err) {
			break
		}
		at = at.Add(time.Millisecond)
		backup = base + "-" + at.Format(backupTimeFormat) + ext
	}
	if err := renameFile(r.path, backup); err != nil {
		return fmt.Errorf("logs: rotate %s: %w", r.path, err)
	}
	if err := r.open(); err != nil {
		return err
	}
	r.prune()
	return nil
}

// prune removes the oldest backups beyond r.backups.
func (r *rotatingFile) prune() {
	backups := Backups(r.path)
	for len(backups) > r.backups {
		_ = os.Remove(backups[0])
		backups = backups[1:]
	}
}

// Backups lists the rotated copies of the log file path
// (<name>-<time>.<ext> beside it), oldest first: the timestamp sorts as
// text. The folder is listed, not globbed, so a folder whose name holds a
// glob metacharacter ("[", "\", "*") still finds them, and only names whose
// middle is a timestamp count, so the log of another sidecar whose name
// starts the same ("xgen" and "xgen-workflow") is not taken for a backup.
func Backups(path string) []string {
	dir, name := filepath.Split(path)
	ext := filepath.Ext(name)
	prefix := strings.TrimSuffix(name, ext) + "-"
	entries, err := os.ReadDir(filepath.Clean(dir))
	if err != nil {
		return nil
	}
	var backups []string
	for _, e := range entries {
		n := e.Name()
		if !strings.HasPrefix(n, prefix) || !strings.HasSuffix(n, ext) || len(n) < len(prefix)+len(ext) {
			continue
		}
		if _, err := time.Parse(backupTimeFormat, n[len(prefix):len(n)-len(ext)]); err == nil {
			backups = append(backups, filepath.Join(dir, n))
		}
	}
	slices.Sort(backups)
	return backups
}

func (r *rotatingFile) Close() error {
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}
