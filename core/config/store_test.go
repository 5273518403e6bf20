package config

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
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
		f.SetSidecar(SidecarFile{Name: "xgen-embedding", Port: Ptr(8002), StartupTimeout: D(30e9)})
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

// Subscribers get the new config after a change; ending a subscription
// closes its channel.
func TestStoreSubscribe(t *testing.T) {
	st := openT(t, writeTemp(t, ""))
	ch, end := st.Subscribe()
	ch2, end2 := st.Subscribe()
	end2()
	if _, ok := <-ch2; ok {
		t.Error("ended subscription still open")
	}
	for _, m := range []string{ModeStandalone, ModeConnected} {
		if err := st.Update(func(f *File) error {
			f.Mode, f.GatewayURL = Ptr(m), Ptr("http://127.0.0.1:1")
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if c := <-ch; c.Mode != ModeConnected {
		t.Errorf("latest = %s", c.Mode)
	}
	select {
	case c := <-ch:
		t.Errorf("stale config queued: %s", c.Mode)
	default:
	}
	end()
	end()
	if _, ok := <-ch; ok {
		t.Error("channel not closed")
	}
}
