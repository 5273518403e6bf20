package proc_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"outrigger/core/proc"
)

// FuzzParseRecords: the state file parser never panics, keeps only records
// that can name a process we started, and what it keeps survives a save
// and a reload unchanged.
func FuzzParseRecords(f *testing.F) {
	for _, s := range []string{
		`[]`,
		`[{"name":"a","pid":10,"pgid":10,"createTime":1795778447000,"port":8000,"startedAt":"2026-11-27T11:00:00Z","token":"9b8aba611265c485b7b17e8b"}]`,
		`[{"name":"a","pid":10,"pgid":10,"createTime":1},{"name":"a","pid":11,"pgid":11,"createTime":2}]`,
		`[{"name":"","pid":1,"pgid":0,"createTime":-1}]`,
		`[{"name":"a","pid":1e99}]`,
		`{"name":"a"}`,
		`[{"name":"a","pid":"10"}]`,
		"[\n{\"name\": \"a\",\n",
		`null`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := proc.ParseRecords(data)
		for _, r := range recs {
			if r.Name == "" || r.PID <= 1 || r.PGID <= 1 || r.CreateTime < 0 {
				t.Fatalf("kept an invalid record %+v (err %v)", r, err)
			}
		}
		if len(recs) == 0 {
			return
		}
		out, merr := json.Marshal(recs)
		if merr != nil {
			t.Fatalf("marshal what was parsed: %v", merr)
		}
		again, err := proc.ParseRecords(out)
		if len(again) != len(recs) {
			t.Fatalf("reload: %d records, had %d (%v)", len(again), len(recs), err)
		}
		for i := range recs {
			a, b := recs[i], again[i]
			if !a.StartedAt.Equal(b.StartedAt) {
				t.Fatalf("startedAt %v became %v", a.StartedAt, b.StartedAt)
			}
			a.StartedAt = b.StartedAt
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("record %+v became %+v", recs[i], again[i])
			}
		}
	})
}

// FuzzGuardianProtocol: any input the guardian reads (a supervisor killed
// mid-line, garbage) leaves it with trees it may act on: never init's or
// the kernel's group, never a member without a start time.
func FuzzGuardianProtocol(f *testing.F) {
	for _, s := range []string{
		"+ 100 100 1234 tok\nd 100 200 555\n- 100\n",
		"+ 1 1 1 -\n+ 0 0 0\n",
		"d 5 5 5\n+ 5 5 5 -\nd 5 6 0\n",
		"+ 100 100 1234",
		"\x00\n+ -5 -5 -5 x\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		for pgid, w := range proc.ReadWatch(strings.NewReader(in)) {
			pid, _, _, members := w.Fields()
			if pgid <= 1 || pid <= 1 {
				t.Fatalf("tree %d (leader %d) from %q", pgid, pid, in)
			}
			for m, start := range members {
				if m <= 1 || start == 0 {
					t.Fatalf("member %d start %d from %q", m, start, in)
				}
			}
		}
	})
}
