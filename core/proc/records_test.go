package proc_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"outrigger/core/proc"
	"outrigger/internal/testutil"
)

// (testutil.TempDir: under Wine, t.TempDir cannot remove a file renamed
// over another, as every save does.)

// The file a save writes is what json.MarshalIndent makes of the records
// sorted by name, though each record is encoded once, when it changes.
func TestStateFileLayout(t *testing.T) {
	path := filepath.Join(testutil.TempDir(t), "sidecars.json")
	sf, err := proc.OpenStateFile(path)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 29, 1, 2, 3, 4, time.FixedZone("KST", 9*3600))
	want := map[string]proc.Record{}
	check := func(step string) {
		t.Helper()
		var list []proc.Record
		for _, r := range sf.All() { // sorted by name
			list = append(list, r)
		}
		if len(list) != len(want) {
			t.Fatalf("%s: %d records, want %d", step, len(list), len(want))
		}
		if list == nil {
			list = []proc.Record{}
		}
		exp, err := json.MarshalIndent(list, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(exp) {
			t.Fatalf("%s: the file is\n%s\nwant\n%s", step, got, exp)
		}
	}
	put := func(r proc.Record) {
		t.Helper()
		if err := sf.Put(r); err != nil {
			t.Fatal(err)
		}
		want[r.Name] = r
	}
	put(proc.Record{Name: "zeta", PID: 30, PGID: 30, CreateTime: 3, Port: 9000, StartedAt: at})
	check("one record")
	put(proc.Record{Name: `a "quoted" <name> ü`, PID: 10, PGID: 10, CreateTime: 1, StartedAt: at, Token: "t\n1", Cgroup: "/sys/fs/cgroup/x"})
	put(proc.Record{Name: "m", PID: 20, PGID: 20, CreateTime: 2, StartedAt: at})
	check("three records")
	// An Update puts and forgets in order, then saves once.
	changes := []proc.Record{
		{Name: "m"}, // forget
		{Name: "zeta", PID: 31, PGID: 31, CreateTime: 4, StartedAt: at.Add(time.Hour)},
		{Name: "b", PID: 40, PGID: 40, CreateTime: 5, StartedAt: at},
	}
	if err := sf.Update(changes); err != nil {
		t.Fatal(err)
	}
	delete(want, "m")
	want["zeta"], want["b"] = changes[1], changes[2]
	check("after an update")
	for name := range want {
		if err := sf.Delete(name); err != nil {
			t.Fatal(err)
		}
		delete(want, name)
	}
	check("emptied")
}

// A record JSON cannot hold (a year past 9999) is refused with an error
// and not kept; the file keeps the others and stays readable.
func TestStateFileRefusesARecordItCannotWrite(t *testing.T) {
	path := filepath.Join(testutil.TempDir(t), "sidecars.json")
	sf, err := proc.OpenStateFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ok := proc.Record{Name: "ok", PID: 10, PGID: 10, CreateTime: 1, StartedAt: time.Now()}
	if err := sf.Put(ok); err != nil {
		t.Fatal(err)
	}
	bad := proc.Record{Name: "bad", PID: 11, PGID: 11, CreateTime: 2, StartedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
	if err := sf.Put(bad); err == nil || !strings.Contains(err.Error(), `"bad"`) {
		t.Fatalf("Put of a year-10000 record: %v, want an error naming it", err)
	}
	if _, kept := sf.Get("bad"); kept {
		t.Error("the record that cannot be written was kept")
	}
	if err := sf.Update([]proc.Record{{Name: "ok2", PID: 12, PGID: 12, CreateTime: 3, StartedAt: time.Now()}}); err != nil {
		t.Fatalf("a later save failed: %v", err)
	}
	re, err := proc.OpenStateFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := re.All(); len(got) != 2 || got[0].Name != "ok" || got[1].Name != "ok2" {
		t.Fatalf("reopened: %+v", got)
	}
}

// BenchmarkStateFileUpdate is one save while n sidecars run: what each
// batch of starting sidecars costs (a start of 1 000 saves hundreds of
// times).
func BenchmarkStateFileUpdate(b *testing.B) {
	for _, n := range []int{50, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			sf, err := proc.OpenStateFile(filepath.Join(testutil.TempDir(b), "sidecars.json"))
			if err != nil {
				b.Fatal(err)
			}
			at := time.Now()
			var all []proc.Record
			for i := range n {
				all = append(all, proc.Record{Name: fmt.Sprintf("fix-%04d", i), PID: 1000 + i, PGID: 1000 + i,
					CreateTime: int64(i), Port: 20000 + i, StartedAt: at, Token: fmt.Sprintf("%032x", i)})
			}
			if err := sf.Update(all); err != nil {
				b.Fatal(err)
			}
			for i := 0; b.Loop(); i++ {
				r := all[i%n]
				r.PID++
				if err := sf.Update([]proc.Record{r}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
