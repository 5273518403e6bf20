package supervisor

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"outrigger/core/proc"
)

// TestStateWriterGroupsConcurrentChanges: fifty sidecars recording their
// runs at once, then half forgetting them, leave exactly what each asked
// for on disk, and every change has returned (put: its wait) only once it
// was saved.
func TestStateWriterGroupsConcurrentChanges(t *testing.T) {
	path := filepath.Join(t.TempDir(), StateFileName)
	file, err := proc.OpenStateFile(path)
	if err != nil {
		t.Fatal(err)
	}
	w := newStateWriter(file)
	name := func(i int) string { return fmt.Sprintf("car-%02d", i) }
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			if err := w.put(proc.Record{Name: name(i), PID: 1000 + i, PGID: 1000 + i, CreateTime: 1, Port: 20000 + i,
				StartedAt: time.Now()})(); err != nil {
				t.Error(err)
			}
			// Saved when put's wait returns: a fresh read of the file has it.
			again, _ := proc.OpenStateFile(path)
			if r, ok := again.Get(name(i)); !ok || r.PID != 1000+i {
				t.Errorf("%s not on disk when put returned", name(i))
			}
		})
	}
	wg.Wait()
	for i := 0; i < 50; i += 2 {
		wg.Go(func() {
			if err := w.delete(name(i)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	again, err := proc.OpenStateFile(path)
	if err != nil {
		t.Fatal(err)
	}
	recs := again.All()
	if len(recs) != 25 {
		t.Fatalf("%d records on disk, want 25", len(recs))
	}
	for _, r := range recs {
		var i int
		fmt.Sscanf(r.Name, "car-%d", &i)
		if i%2 == 0 || r.PID != 1000+i {
			t.Errorf("unexpected record %+v", r)
		}
	}
}

// A put that nobody awaited yet and a delete of the same name made after
// it reach the disk in that order: the delete wins (a run that ended at
// once leaves no record behind).
func TestStateWriterKeepsOrder(t *testing.T) {
	path := filepath.Join(t.TempDir(), StateFileName)
	file, err := proc.OpenStateFile(path)
	if err != nil {
		t.Fatal(err)
	}
	w := newStateWriter(file)
	for i := range 20 {
		wait := w.put(proc.Record{Name: "car", PID: 1000 + i, PGID: 1000 + i, CreateTime: 1, StartedAt: time.Now()})
		if err := w.delete("car"); err != nil {
			t.Fatal(err)
		}
		if err := wait(); err != nil {
			t.Fatal(err)
		}
		again, _ := proc.OpenStateFile(path)
		if r, ok := again.Get("car"); ok {
			t.Fatalf("round %d: the put came after the delete: %+v on disk", i, r)
		}
	}
}
