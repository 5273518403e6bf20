package proc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
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
	// enc holds each record as a save writes it. A save rewrites the whole
	// file, and while many sidecars start together it saves over and over:
	// encoding every record each time made a start of 1 000 sidecars spend
	// most of a second of CPU in json.MarshalIndent. So a record is encoded
	// once, when it changes.
	enc map[string][]byte
}

// OpenStateFile loads path if it exists. A corrupt file is moved aside
// (never deleted) and an empty list is used.
func OpenStateFile(path string) (*StateFile, error) {
	s := &StateFile{path: path, recs: map[string]Record{}, enc: map[string][]byte{}}
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
	var encErrs []error
	for _, r := range list {
		encErrs = append(encErrs, s.putLocked(r))
	}
	err = errors.Join(append(encErrs, err)...)
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
	return errors.Join(s.putLocked(r), s.saveLocked())
}

// putLocked keeps r and its encoding. A record that cannot be encoded (a
// time outside JSON's years 0–9999) is not kept: it would make every save
// fail, and the file name no process at all.
func (s *StateFile) putLocked(r Record) error {
	e, err := json.MarshalIndent(r, "  ", "  ")
	if err != nil {
		return fmt.Errorf("record %q: %w", r.Name, err)
	}
	s.recs[r.Name], s.enc[r.Name] = r, e
	return nil
}

func (s *StateFile) deleteLocked(name string) {
	delete(s.recs, name)
	delete(s.enc, name)
}

// Update applies changes in order — a record to put, or, for a Record with
// only a Name and no PID, a name to forget — and saves once: the supervisor
// gathers the changes of sidecars starting together into one write.
func (s *StateFile) Update(changes []Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, r := range changes {
		if r.PID == 0 {
			s.deleteLocked(r.Name)
		} else {
			errs = append(errs, s.putLocked(r))
		}
	}
	return errors.Join(append(errs, s.saveLocked())...)
}

// Delete forgets name and saves.
func (s *StateFile) Delete(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.recs[name]; !ok {
		return nil
	}
	s.deleteLocked(name)
	return s.saveLocked()
}

// saveLocked writes the records sorted by name, laid out as
// json.MarshalIndent(records, "", "  ") would lay them out.
func (s *StateFile) saveLocked() error {
	names := make([]string, 0, len(s.enc))
	size := len("[\n]")
	for n, e := range s.enc {
		names = append(names, n)
		size += len(",\n  ") + len(e)
	}
	slices.Sort(names)
	data := make([]byte, 0, size)
	data = append(data, '[')
	for i, n := range names {
		if i > 0 {
			data = append(data, ',')
		}
		data = append(data, "\n  "...)
		data = append(data, s.enc[n]...)
	}
	if len(names) > 0 {
		data = append(data, '\n')
	}
	data = append(data, ']')
	// Not fsynced: the file names processes that are running now, and a
	// crash of the system that could lose it ends them all. Against a crash
	// of the app the rename alone is enough.
	return safefile.WriteVolatile(s.path, data, 0o600)
}
