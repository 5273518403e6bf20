package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"sync"

	"outrigger/core/safefile"
)

// ErrChangedOnDisk is returned (wrapped) by Store.Update when the file was
// changed by someone else since the store last read or wrote it; nothing
// is written. Call Reload to take the other change in, then edit again.
var ErrChangedOnDisk = errors.New("the settings file was changed outside Outrigger since it was loaded")

// Store owns outrigger.toml: its path, the current Config, and saving.
// Editors (the settings panel, the mode controller, the control API)
// change the file only through Update; nobody else reads or writes it.
// OnChange hooks (the supervisor's, see supervisor.Follow) learn of each
// new Config before Update returns. Safe for concurrent use.
type Store struct {
	path string

	mu   sync.Mutex
	cfg  Config
	data []byte // the file as last read or written; nil: no file

	// hookMu serialises the OnChange hooks and guards hooks; it is taken
	// before mu, never while holding it.
	hookMu sync.Mutex
	hooks  map[*hook]struct{}
}

// hook is one OnChange registration; seen is the config it was last given.
type hook struct {
	fn   func(old, cur Config)
	seen Config
}

// CorruptError is returned by Open when the everyday settings file could
// not be used and was set aside: the store holds the defaults.
type CorruptError struct {
	Err     error  // why the file could not be used (names file, line, key)
	MovedTo string // where it is now
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("%v (the file was kept as %s; using the defaults)", e.Err, e.MovedTo)
}

func (e *CorruptError) Unwrap() error { return e.Err }

// Open loads the settings file at path (missing: the defaults). A file
// with a problem in its content (an *Error: syntax, a limit, a bad value)
// is, when setAside is true (the everyday file), moved aside with
// safefile.SetAside before anything else reads it, and the store starts
// from the defaults with a *CorruptError returned beside it. With setAside
// false (a file named with --config) such a file is an error and the store
// nil. A file that cannot be read at all is never moved: with setAside the
// store holds the defaults and the error is returned beside it.
func Open(path string, setAside bool) (*Store, error) {
	s := &Store{path: path, cfg: Defaults(), hooks: map[*hook]struct{}{}}
	err := s.read()
	var ce *Error
	switch {
	case err == nil:
		return s, nil
	case !setAside:
		return nil, err
	case !errors.As(err, &ce): // unreadable: the defaults, and saving will say why it cannot
		return s, err
	}
	moved, merr := moveAside(path)
	if moved == "" && merr != nil { // still in place (a name means it moved, even with an error)
		return nil, fmt.Errorf("%w; and it could not be set aside: %v", err, merr)
	}
	s.cfg, s.data = Defaults(), nil
	return s, &CorruptError{Err: err, MovedTo: moved}
}

// moveAside is safefile.SetAside; a test makes it fail after the move.
var moveAside = safefile.SetAside

// read loads the file into s. Called with mu held, or before s is shared.
func (s *Store) read() error {
	data, err := readFile(s.path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	cfg, _, err := load(s.path, data)
	if err == nil {
		s.cfg, s.data = cfg, data
	}
	return err
}

// readFile reads path; a missing file is nil and no error.
func readFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return data, err
}

// Path is the settings file.
func (s *Store) Path() string { return s.path }

// Config returns a copy of the current configuration.
func (s *Store) Config() Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg.Clone()
}

// Reload reads the file again (after ErrChangedOnDisk, or an edit the user
// says they made) and tells the hooks. On error nothing changes.
func (s *Store) Reload() error {
	s.mu.Lock()
	err := s.read()
	s.mu.Unlock()
	return s.thenHooks(err)
}

// Update lets fn edit the file as written (only what fn sets changes; the
// rest of the user's file is kept) and saves it: the previous version is
// kept as path+".bak", then the new one written atomically (0600). Nothing
// is written when fn fails, when the result would not load (the error
// lists every problem with its sidecar and key), when nothing changed, or
// when the file was changed on disk since the store read it in a part fn
// changes too (ErrChangedOnDisk; a change elsewhere, say to another
// sidecar, is kept and fn applied over it). fn may be called twice and
// must not call the store. The OnChange hooks have run when it returns.
func (s *Store) Update(fn func(*File) error) error {
	return s.UpdateFrom(func(_ Config, f *File) error { return fn(f) })
}

// UpdateFrom is Update for an editor that edits from a copy it loaded
// earlier (the settings panel's spec, the token field's token): fn is also
// given the config the store holds now, taken under the same lock as the
// save, so a Reload or another save cannot land between fn's look at it
// and the write. fn refuses (returns an error, ErrChangedOnDisk when what
// it loaded is no longer what the store holds) and nothing is written. cur
// is the store's resolved config (as Config returns it), f the file fn
// edits; like Update's, fn may be called twice and must not call the
// store.
func (s *Store) UpdateFrom(fn func(cur Config, f *File) error) error {
	return s.thenHooks(s.update(fn))
}

// thenHooks runs the hooks after a change that succeeded (err == nil),
// without the store's lock, and returns err.
func (s *Store) thenHooks(err error) error {
	if err == nil {
		s.runHooks()
	}
	return err
}

func (s *Store) update(edit func(Config, *File) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.cfg.Clone()
	fn := func(f *File) error { return edit(cur, f) }
	old, err := readFile(s.path)
	if err != nil {
		return fmt.Errorf("config: cannot read %s: %w", s.path, err)
	}
	outside := !bytes.Equal(old, s.data) || (old == nil) != (s.data == nil)
	_, disk, err := load(s.path, old)
	if err != nil && outside {
		return fmt.Errorf("config: not saving %s: %w, and it does not load now: %w", s.path, ErrChangedOnDisk, err)
	} else if err != nil {
		return fmt.Errorf("config: not saving %s: %w", s.path, err)
	}
	if outside {
		// Go on only when the parts fn changes (top-level keys, whole
		// [[sidecar]] entries) are not parts the other writer changed, so
		// that both edits are kept.
		_, base, _ := load(s.path, s.data)
		_, mine, _ := load(s.path, s.data)
		if err := fn(&mine); err != nil {
			return err
		}
		pb, pd, pm := parts(base), parts(disk), parts(mine)
		all := maps.Clone(pb)
		maps.Copy(all, pm)
		for k := range all {
			if !reflect.DeepEqual(pb[k], pm[k]) && !reflect.DeepEqual(pb[k], pd[k]) {
				return fmt.Errorf("config: not saving %s: %w", s.path, ErrChangedOnDisk)
			}
		}
	}
	if err := fn(&disk); err != nil {
		return err
	}
	data, err := Marshal(disk)
	if err != nil {
		return err
	}
	cfg, _, err := load(s.path, data)
	if err != nil {
		return fmt.Errorf("config: not saving %s, it would not load: %w", s.path, err)
	}
	if bytes.Equal(old, data) {
		data = old
	} else if err := s.write(old, data); err != nil {
		return err
	}
	s.cfg, s.data = cfg, data
	return nil
}

// Entry is the [[sidecar]] entry named name in the file as the store last
// read or wrote it, and whether there is one. A sidecar missing from
// Config may still have an entry (enabled = false); one with neither was
// removed from the file, or never was in it.
func (s *Store) Entry(name string) (SidecarFile, bool) {
	s.mu.Lock()
	data := s.data
	s.mu.Unlock()
	_, f, err := load(s.path, data) // s.data loaded when it was taken in
	if err != nil {
		return SidecarFile{}, false
	}
	return f.Sidecar(name)
}

// write keeps old as path+".bak", then writes data.
func (s *Store) write(old, data []byte) error {
	cannot := func(err error) error {
		return fmt.Errorf("config: cannot save %s (the folder %s must be writable): %w", s.path, filepath.Dir(s.path), err)
	}
	if old != nil {
		if err := safefile.Write(s.path+".bak", old, 0o600); err != nil {
			return cannot(fmt.Errorf("keeping the previous version: %w", err))
		}
	}
	if err := safefile.Write(s.path, data, 0o600); err != nil {
		return cannot(err)
	}
	return nil
}

// OnChange registers fn to be told of every change of the config (an
// Update that changed it, a Reload that read a different one): old is the
// config fn was last given, cur the store's now. fn is called once at
// once, with the zero Config as old, so it starts from where the store is.
//
// The call is synchronous: Update and Reload return only after every hook
// has seen a config at least as new as theirs. That is what lets an editor
// rely on the order: the settings panel saves, and a "Restart now" clicked
// after the save returned starts the sidecar with the saved spec, because
// the supervisor's hook (supervisor.Follow) has taken it already. Hooks run one at a time, without the store's lock: fn may
// read the store (Config), must not change it (Update or Reload from fn
// deadlocks), and should not take long — a saving editor waits for it.
// After remove returns, fn is not running and is not called again.
func (s *Store) OnChange(fn func(old, cur Config)) (remove func()) {
	h := &hook{fn: fn}
	s.hookMu.Lock()
	s.mu.Lock()
	h.seen = s.cfg
	s.hooks[h] = struct{}{}
	s.mu.Unlock()
	fn(Config{}, h.seen.Clone())
	s.hookMu.Unlock()
	return func() { // a second call deletes nothing
		s.hookMu.Lock()
		delete(s.hooks, h)
		s.hookMu.Unlock()
	}
}

// runHooks gives every hook the current config, if it has not seen it.
// Each hook is handed the newest config, not each step: two Updates racing
// each other end with every hook at the config the store ends at, whatever
// order their runHooks calls take. Called without mu.
func (s *Store) runHooks() {
	s.hookMu.Lock()
	defer s.hookMu.Unlock()
	s.mu.Lock()
	cur := s.cfg // never changed in place, only replaced: safe to keep
	s.mu.Unlock()
	for h := range s.hooks {
		if reflect.DeepEqual(h.seen, cur) {
			continue
		}
		old := h.seen
		h.seen = cur
		h.fn(old.Clone(), cur.Clone())
	}
}

// parts splits f into what two editors may change independently: each
// top-level key and each [[sidecar]] entry.
func parts(f File) map[string]any {
	m, v := map[string]any{}, reflect.ValueOf(f)
	for i := range v.NumField() {
		m[v.Type().Field(i).Name] = v.Field(i).Interface()
	}
	delete(m, "Sidecars")
	for _, sc := range f.Sidecars {
		m["sidecar "+sc.Name] = sc
	}
	return m
}
