package proc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"sync"
	"time"

	"outrigger/core/safefile"
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
	// Token is the run's TreeEnv value: the sweep ends every process that
	// carries it, also one that left the group (a daemon).
	Token string `json:"token,omitempty"`
	// Cgroup is the run's cgroup dir (Linux, where one was made): the
	// sweep ends every process in it if the app that made it is gone.
	Cgroup string `json:"cgroup,omitempty"`
}

// StateFile is the on-disk list of running sidecar processes. Every change
// is written atomically (temp file, rename) so a crash of the app at any
// moment leaves either the old or the new list, never half of one; it is
// not fsynced (see saveLocked).
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
	list, err := parseRecords(data)
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	if errors.As(err, &syntax) || errors.As(err, &typ) {
		bad, _ := safefile.SetAside(path)
		return s, fmt.Errorf("state file %s is corrupt (moved to %s): %w", path, bad, err)
	}
	for _, r := range list {
		s.recs[r.Name] = r
	}
	if err != nil {
		// Records that make no sense are dropped (the next save leaves them
		// out); the others are kept, so their orphans are still swept.
		return s, fmt.Errorf("state file %s: %w", path, err)
	}
	return s, nil
}

// parseRecords decodes the state file. A syntax or type error is returned
// as is, with its line; a record that cannot name a process we started
// (no name, a pid or group <= 1, a negative create time) is left out and
// named in the error, with the same for a name seen twice (the last wins).
func parseRecords(data []byte) ([]Record, error) {
	var list []Record
	if err := json.Unmarshal(data, &list); err != nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			return nil, fmt.Errorf("line %d: %w", 1+bytes.Count(data[:min(int(syntax.Offset), len(data))], []byte("\n")), err)
		}
		return nil, err
	}
	var errs []error
	out := list[:0]
	seen := map[string]int{}
	for i, r := range list {
		var bad string
		switch {
		case r.Name == "":
			bad = "no name"
		case r.PID <= 1:
			bad = fmt.Sprintf("pid %d", r.PID)
		case r.PGID <= 1:
			bad = fmt.Sprintf("pgid %d", r.PGID)
		case r.CreateTime < 0:
			bad = fmt.Sprintf("createTime %d", r.CreateTime)
		}
		if bad != "" {
			errs = append(errs, fmt.Errorf("record %d (%q): %s; left out", i+1, r.Name, bad))
			continue
		}
		if j, ok := seen[r.Name]; ok {
			errs = append(errs, fmt.Errorf("record %d: name %q already used by record %d; the last one is kept", i+1, r.Name, j+1))
		}
		seen[r.Name] = i
		out = append(out, r)
	}
	return out, errors.Join(errs...)
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

// Update applies changes in order — a record to put, or, for a Record with
// only a Name and no PID, a name to forget — and saves once: the supervisor
// gathers the changes of sidecars starting together into one write.
func (s *StateFile) Update(changes []Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range changes {
		if r.PID == 0 {
			delete(s.recs, r.Name)
		} else {
			s.recs[r.Name] = r
		}
	}
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
	// Not fsynced: the file names processes that are running now, and a
	// crash of the system that could lose it ends them all. Against a crash
	// of the app the rename alone is enough.
	return safefile.WriteVolatile(s.path, data, 0o600)
}
