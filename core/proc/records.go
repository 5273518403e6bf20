package proc

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// Record remembers one sidecar process we started, so that a later launch
// can recognise it (pid + create time) after we were killed.
type Record struct {
	Name       string    `json:"name"`
	PID        int       `json:"pid"`
	PGID       int       `json:"pgid"`
	CreateTime int64     `json:"createTime"`
	Port       int       `json:"port"`
	StartedAt  time.Time `json:"startedAt"`
}

// StateFile is the on-disk list of running sidecar processes. Every change
// is written atomically (temp file, fsync, rename) so a crash at any moment
// leaves either the old or the new list, never half of one.
type StateFile struct {
	path string
	mu   sync.Mutex
	recs map[string]Record
}

// OpenStateFile loads path if it exists. A corrupt file is moved aside
// (never deleted) and an empty list is used.
func OpenStateFile(path string) (*StateFile, error) {
	s := &StateFile{path: path, recs: map[string]Record{}}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return s, nil
	case err != nil:
		return nil, fmt.Errorf("read state file: %w", err)
	}
	var list []Record
	if err := json.Unmarshal(data, &list); err != nil {
		bad := path + ".corrupt-" + time.Now().Format("20060102-150405")
		_ = os.Rename(path, bad)
		return s, fmt.Errorf("state file %s is corrupt (moved to %s): %w", path, bad, err)
	}
	for _, r := range list {
		s.recs[r.Name] = r
	}
	return s, nil
}

// Path is where the file lives.
func (s *StateFile) Path() string { return s.path }

// All returns the records sorted by name.
func (s *StateFile) All() []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Record, 0, len(s.recs))
	for _, r := range s.recs {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Get returns the record for name.
func (s *StateFile) Get(name string) (Record, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.recs[name]
	return r, ok
}

// Put records (or replaces) a running process and saves.
func (s *StateFile) Put(r Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recs[r.Name] = r
	return s.saveLocked()
}

// Delete forgets name and saves.
func (s *StateFile) Delete(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.recs[name]; !ok {
		return nil
	}
	delete(s.recs, name)
	return s.saveLocked()
}

func (s *StateFile) saveLocked() error {
	list := make([]Record, 0, len(s.recs))
	for _, r := range s.recs {
		list = append(list, r)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	data, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return err
	}
	return WriteAtomic(s.path, data, 0o600)
}

// WriteAtomic writes data to path so that readers see the old content or
// the new, never a mix: temp file in the same folder, fsync, rename, fsync
// the folder.
func WriteAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmpName := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmpName)
		}
	}()
	if err := tmp.Chmod(perm); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		// Windows cannot chmod an open file; the default ACL applies there.
		_ = err
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	if err := os.Rename(tmpName, path); err != nil {
		return fmt.Errorf("rename %s: %w", path, err)
	}
	ok = true
	syncDir(dir)
	return nil
}
