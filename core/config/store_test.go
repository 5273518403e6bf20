package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

func openT(t *testing.T, path string) *Store {
	t.Helper()
	st, err := Open(path, false)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// load → save → load gives the same config.
func TestStoreRoundTrip(t *testing.T) {
	p := writeTemp(t, specExample)
	st := openT(t, p)
	want := st.Config()
	if err := st.Update(func(f *File) error { f.SequentialStart = Ptr(false); return nil }); err != nil {
		t.Fatal(err)
	}
	if got := openT(t, p).Config(); !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

// A second writer edits the file while the store holds it: a save that
// touches the same part is refused with ErrChangedOnDisk and writes
// nothing; Reload takes the other edit in; a save of another part keeps
// the other edit.
func TestStoreOutsideEdit(t *testing.T) {
	p := writeTemp(t, specExample)
	st := openT(t, p)
	outside := strings.Replace(specExample, "startup_timeout = \"90s\"", "startup_timeout = \"120s\"", 1)
	if err := os.WriteFile(p, []byte(outside), 0o600); err != nil { // the second writer
		t.Fatal(err)
	}
	err := st.Update(func(f *File) error {
		f.SetSidecar(SidecarFile{Name: "xgen-embedding", Port: Ptr(8002), StartupTimeout: Ptr(30 * time.Second)})
		return nil
	})
	if !errors.Is(err, ErrChangedOnDisk) {
		t.Fatalf("err = %v, want ErrChangedOnDisk", err)
	}
	if b, _ := os.ReadFile(p); string(b) != outside {
		t.Fatal("the outside edit was overwritten")
	}
	if err := st.Reload(); err != nil {
		t.Fatal(err)
	}
	if s, _ := st.Config().Sidecar("xgen-embedding"); s.StartupTimeout != 120e9 {
		t.Errorf("after Reload: %v", s.StartupTimeout)
	}
	// Another edit outside, to the top level; the store edits a sidecar.
	if err := os.WriteFile(p, []byte(strings.Replace(outside, `mode = "service"`, `mode = "standalone"`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := st.Update(func(f *File) error {
		f.SetSidecar(SidecarFile{Name: "xgen-embedding", Port: Ptr(8003)})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	c, _, err := Load(p)
	if s, _ := c.Sidecar("xgen-embedding"); err != nil || c.Mode != ModeStandalone || s.Port != 8003 {
		t.Errorf("both edits kept? %v mode %s port %d", err, c.Mode, s.Port)
	}
}

// OnChange: the hook starts from the store's config, has seen a change
// when Update or Reload returns (no waiting), is not called for an Update
// that changes nothing, and never again after remove. Racing Updates end
// with the hook at the store's final config.
func TestStoreOnChange(t *testing.T) {
	p := writeTemp(t, specExample)
	st := openT(t, p)
	var seen []Config // only the hook appends; hooks run one at a time
	var olds []Config
	remove := st.OnChange(func(old, cur Config) {
		olds = append(olds, old)
		seen = append(seen, cur)
	})
	if len(seen) != 1 || !reflect.DeepEqual(seen[0], st.Config()) || !reflect.DeepEqual(olds[0], Config{}) {
		t.Fatalf("first call: old %+v, cur %+v", olds, seen)
	}
	if err := st.Update(func(f *File) error { f.SequentialStart = Ptr(true); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 || !seen[1].SequentialStart || !reflect.DeepEqual(olds[1], seen[0]) {
		t.Fatalf("after Update returned the hook has not seen it: %d calls", len(seen))
	}
	if err := st.Update(func(f *File) error { f.SequentialStart = Ptr(true); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 {
		t.Errorf("an Update that changed nothing called the hook: %d calls", len(seen))
	}
	outside := strings.Replace(specExample, "startup_timeout = \"90s\"", "startup_timeout = \"120s\"", 1)
	if err := os.WriteFile(p, []byte(outside), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := st.Reload(); err != nil {
		t.Fatal(err)
	}
	if s, _ := seen[len(seen)-1].Sidecar("xgen-embedding"); len(seen) != 3 || s.StartupTimeout != 120e9 {
		t.Fatalf("after Reload returned: %d calls, startup %v", len(seen), s.StartupTimeout)
	}
	remove()
	if err := st.Update(func(f *File) error { f.SequentialStart = Ptr(false); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 3 {
		t.Errorf("called after remove: %d calls", len(seen))
	}

	var last Config
	calls := 0
	defer st.OnChange(func(_, cur Config) { last = cur; calls++ })()
	done := make(chan error)
	for i := range 8 {
		go func() {
			done <- st.Update(func(f *File) error { f.GatewayURL = Ptr(fmt.Sprintf("https://gw%d.example", i)); return nil })
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(last, st.Config()) {
		t.Errorf("after racing Updates the hook is at %q, the store at %q", last.GatewayURL, st.Config().GatewayURL)
	}
	if calls < 2 {
		t.Errorf("%d calls", calls)
	}
}

// A hook may read the store (Config) without deadlocking.
func TestStoreOnChangeReadsStore(t *testing.T) {
	st := openT(t, writeTemp(t, specExample))
	var got bool
	defer st.OnChange(func(_, cur Config) { got = st.Config().SequentialStart == cur.SequentialStart })()
	if err := st.Update(func(f *File) error { f.SequentialStart = Ptr(true); return nil }); err != nil {
		t.Fatal(err)
	}
	if !got {
		t.Error("the hook read another config than it was given")
	}
}

// UpdateFrom hands fn the config the store holds at the save, an outside
// edit it reloaded included, so an editor can check that what it loaded
// is still current; a refusal writes nothing and tells no hook.
func TestStoreUpdateFrom(t *testing.T) {
	p := writeTemp(t, specExample)
	st := openT(t, p)
	loaded, _ := st.Config().Sidecar("xgen-embedding") // the editor's copy
	outside := strings.Replace(specExample, "startup_timeout = \"90s\"", "startup_timeout = \"120s\"", 1)
	if err := os.WriteFile(p, []byte(outside), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := st.Reload(); err != nil {
		t.Fatal(err)
	}
	calls := 0
	defer st.OnChange(func(_, _ Config) { calls++ })()
	calls = 0
	err := st.UpdateFrom(func(cur Config, f *File) error {
		if now, _ := cur.Sidecar("xgen-embedding"); !reflect.DeepEqual(now, loaded) {
			return ErrChangedOnDisk
		}
		f.SetSidecar(SidecarFile{Name: "xgen-embedding", Port: Ptr(8003)})
		return nil
	})
	if !errors.Is(err, ErrChangedOnDisk) {
		t.Fatalf("err = %v, want the editor's refusal", err)
	}
	if b, _ := os.ReadFile(p); string(b) != outside || calls != 0 {
		t.Fatalf("a refused update wrote the file or told %d hooks", calls)
	}
	var seen Config
	if err := st.UpdateFrom(func(cur Config, f *File) error {
		seen = cur
		cur.Sidecars[0].Port = 1 // the editor's copy: the store's is not changed
		f.SequentialStart = Ptr(true)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if s, _ := seen.Sidecar("xgen-embedding"); s.StartupTimeout != 120e9 || seen.SequentialStart {
		t.Errorf("fn was given %v, sequential %v: not the store's config at the save", s.StartupTimeout, seen.SequentialStart)
	}
	if c := st.Config(); c.Sidecars[0].Port == 1 || !c.SequentialStart || calls != 1 {
		t.Errorf("after the update: port %d, sequential %v, %d hook calls", c.Sidecars[0].Port, c.SequentialStart, calls)
	}
}

// Entry tells a sidecar the file turns off (an entry, not in Config) from
// one the file does not name.
func TestStoreEntry(t *testing.T) {
	src := specExample + "\n[[sidecar]]\nname = \"extra\"\nport = 8100\nenabled = false\n"
	st := openT(t, writeTemp(t, src))
	if e, ok := st.Entry("extra"); !ok || e.Enabled == nil || *e.Enabled {
		t.Errorf("extra: %+v %v", e, ok)
	}
	if _, ok := st.Config().Sidecar("extra"); ok {
		t.Error("a disabled sidecar in Config")
	}
	if _, ok := st.Entry("gone"); ok {
		t.Error("an entry for a name the file does not have")
	}
	if e, ok := st.Entry("xgen-embedding"); !ok || e.Port == nil || *e.Port != 8002 {
		t.Errorf("xgen-embedding: %+v %v", e, ok)
	}
}
