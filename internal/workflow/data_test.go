package workflow

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"outrigger/internal/testutil"
)

// Input is stored as given or refused: invalid UTF-8 (raw, or as a lone
// surrogate escape, both of which a decoder turns into U+FFFD) is a 400
// naming the byte, and nothing is stored.
func TestInvalidUTF8Refused(t *testing.T) {
	ts := startService(t, nil)
	for name, body := range map[string]string{
		"raw byte in input":      "{\"workflow_id\":\"echo\",\"interaction_id\":\"u1\",\"input\":{\"text\":\"a\xffb\"}}",
		"truncated sequence":     "{\"workflow_id\":\"echo\",\"interaction_id\":\"u2\",\"input\":{\"text\":\"\xc3\"}}",
		"lone surrogate":         `{"workflow_id":"echo","interaction_id":"u3","input":{"text":"\udc00"}}`,
		"raw byte in id":         "{\"workflow_id\":\"echo\",\"interaction_id\":\"u\xfe\",\"input\":{\"text\":\"a\"}}",
		"raw byte in a callback": "{\"workflow_id\":\"echo\",\"interaction_id\":\"u4\",\"input\":{\"text\":\"a\"},\"callback_url\":\"http://127.0.0.1/\xff\"}",
	} {
		for _, path := range []string{"/workflow/stream", "/deploy/stream"} {
			resp, b := post(t, ts.URL+path, body)
			if resp.StatusCode != http.StatusBadRequest || !contains(string(b), "UTF") {
				t.Errorf("%s on %s: %s %s, want 400 naming UTF-8", name, path, resp.Status, b)
			}
		}
	}
	var n int
	if err := openDB(t, ts.Dir).QueryRow(`SELECT count(*) FROM execution_meta`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d executions stored (%v), want none", n, err)
	}
	// Valid non-ASCII text, escaped or not, is kept byte for byte.
	in := `{"text":"é\u00e9 😀 \ud83d\ude00"}`
	r, err := ts.Client.Deploy(ctxT(t, 10*time.Second), RunRequest{WorkflowID: "echo", Input: raw(in), InteractionID: "utf8-ok"})
	if err != nil || r.Status != StatusCompleted || string(r.Input) != in || !json.Valid(r.Output) {
		t.Fatalf("%v %+v", err, r)
	}
}

func post(t testing.TB, url, body string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// An interaction_id is a path segment of /results/{id}: ".", ".." and ids
// holding "/" or "\" are refused, and so are control characters, C1 ones
// (U+0080–U+009F: NEL, CSI…) included; every accepted id reaches its result.
func TestInteractionIDsArePathSegments(t *testing.T) {
	ts := startService(t, nil)
	for _, id := range []string{".", "..", "a/b", "../x", `a\b`, "a\x00", "a\u0085b", "a\u009b31m", strings.Repeat("x", MaxInteractionID+1)} {
		err := ts.Client.Stream(ctxT(t, 10*time.Second), "echo", raw(`{"text":"a"}`), id, nil)
		var he *HTTPError
		if !errors.As(err, &he) || he.StatusCode != http.StatusBadRequest {
			t.Errorf("id %q: %v, want 400", id, err)
		}
	}
	for _, id := range []string{"...", ".a", "a.", "a b", "%2F", "?x", "#x", "é", strings.Repeat("y", MaxInteractionID)} {
		if err := ts.Client.Stream(ctxT(t, 10*time.Second), "echo", raw(`{"text":"a"}`), id, nil); err != nil {
			t.Errorf("id %q: %v", id, err)
			continue
		}
		resp, err := http.Get(ts.URL + "/results/" + url.PathEscape(id))
		if err != nil {
			t.Fatal(err)
		}
		var r Result
		json.NewDecoder(resp.Body).Decode(&r)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || r.InteractionID != id {
			t.Errorf("id %q: /results gave %s for %q", id, resp.Status, r.InteractionID)
		}
	}
}

// workflow.db, -wal and -shm are 0600 in a 0700 folder, including a
// database an older version left 0644.
func TestDatabaseFilesPrivate(t *testing.T) {
	if os.PathSeparator != '/' {
		t.Skip("Unix modes")
	}
	parent := t.TempDir()
	dir := filepath.Join(parent, "data")
	ts := startService(t, func(o *Options) { o.DataDir = dir })
	if _, err := ts.Client.Deploy(ctxT(t, 10*time.Second), RunRequest{WorkflowID: "echo", Input: raw(`{"text":"a"}`)}); err != nil {
		t.Fatal(err)
	}
	check := func() {
		t.Helper()
		if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
			t.Fatalf("data folder: %v %v, want 0700", st.Mode(), err)
		}
		for _, f := range []string{DBFile, DBFile + "-wal", DBFile + "-shm"} {
			st, err := os.Stat(filepath.Join(dir, f))
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if st.Mode().Perm() != 0o600 {
				t.Errorf("%s is %v, want 0600", f, st.Mode().Perm())
			}
		}
	}
	check()
	// A database an older version left world-readable is made private.
	other := filepath.Join(parent, "old")
	os.Mkdir(other, 0o700)
	s, _, err := OpenStore(context.Background(), filepath.Join(other, DBFile))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	os.Chmod(filepath.Join(other, DBFile), 0o644)
	s, _, err = OpenStore(context.Background(), filepath.Join(other, DBFile))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if st, _ := os.Stat(filepath.Join(other, DBFile)); st.Mode().Perm() != 0o600 {
		t.Fatalf("reopened database is %v, want 0600", st.Mode().Perm())
	}
}

// Retention: finished executions older than Keep go, the oldest finished
// go while the used size is over MaxDBBytes, and running ones stay.
func TestPrune(t *testing.T) {
	path := filepath.Join(t.TempDir(), DBFile)
	s, _, err := OpenStore(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now()
	big := raw(`{"text":"` + strings.Repeat("z", 100_000) + `"}`)
	add := func(id string, age time.Duration, finished bool) {
		t.Helper()
		at := now.Add(-age)
		eid, err := s.createExecution(id, "echo", big, "", at)
		if err == nil && finished {
			err = s.finishExecution(eid, StatusCompleted, big, "", at)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range 20 {
		add("old-"+string(rune('a'+i)), 40*24*time.Hour, true)
	}
	add("old-running", 40*24*time.Hour, false)
	for i := range 20 {
		add("new-"+string(rune('a'+i)), time.Duration(20-i)*time.Minute, true)
	}
	n, err := s.Prune(context.Background(), now, 30*24*time.Hour, -1)
	if err != nil || n != 20 {
		t.Fatalf("pruned %d (%v), want the 20 old finished ones", n, err)
	}
	if _, err := s.Result(context.Background(), "old-running"); err != nil {
		t.Fatalf("an unfinished execution was pruned: %v", err)
	}
	used, _ := s.UsedBytes(context.Background())
	limit := used / 2
	if _, err := s.Prune(context.Background(), now, -1, limit); err != nil {
		t.Fatal(err)
	}
	if used, _ = s.UsedBytes(context.Background()); used > limit {
		t.Fatalf("used %d bytes after pruning to %d", used, limit)
	}
	if _, err := s.Result(context.Background(), "new-a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the oldest new execution survived the size cap: %v", err)
	}
	if _, err := s.Result(context.Background(), "new-t"); err != nil {
		t.Fatalf("the newest execution was pruned: %v", err)
	}
}

// The service prunes in the background as runs finish: with a 1 MB cap,
// 40 runs storing about 200 KB each leave the database near the cap.
func TestServicePrunesToCap(t *testing.T) {
	const maxDB = 1 << 20
	ts := startService(t, func(o *Options) { o.MaxDBBytes, o.PruneInterval = maxDB, 200*time.Millisecond })
	in := raw(`{"text":"` + strings.Repeat("q", 60_000) + `"}`)
	for i := range 40 {
		if _, err := ts.Client.Deploy(ctxT(t, 10*time.Second), RunRequest{WorkflowID: "echo", Input: in, InteractionID: fmt.Sprintf("cap-%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	var used int64
	testutil.Eventually(t, 30*time.Second, func() bool { // the last runs are pruned once pruneGrace has passed
		used, _ = ts.Store().UsedBytes(context.Background())
		return used <= maxDB
	}, "the database to be pruned to its cap")
	if !contains(ts.Logs.String(), "pruned finished executions") {
		t.Fatal("no pruning logged")
	}
	if _, err := ts.Client.Result(context.Background(), "deploy_cap-39"); err != nil {
		t.Fatalf("the newest run was pruned: %v", err)
	}
}

// A KEEP of seconds does not take a run that has just ended: age-based
// pruning has the size cap's pruneGrace (its /deploy reply or first
// /results read may be under way); once that has passed, the run goes.
func TestKeepHasTheGrace(t *testing.T) {
	ts := startService(t, func(o *Options) { o.Keep, o.MaxDBBytes = -1, -1 }) // only the test prunes
	r, err := ts.Client.Deploy(ctxT(t, wait), RunRequest{WorkflowID: "echo", Input: raw(`{"text":"a"}`), InteractionID: "young"})
	if err != nil || r.FinishedAt == nil {
		t.Fatalf("deploy: %v %+v", err, r)
	}
	const keep = 500 * time.Millisecond
	ended := *r.FinishedAt
	// A second after its end: older than keep, within the grace.
	if n, err := ts.Store().Prune(context.Background(), ended.Add(time.Second), keep, -1); err != nil || n != 0 {
		t.Fatalf("pruning a second after the end with keep %v: %d pruned (%v), want none within the grace", keep, n, err)
	}
	if _, err := ts.Client.Result(context.Background(), "deploy_young"); err != nil {
		t.Fatalf("GET /results right after the end: %v", err)
	}
	if n, err := ts.Store().Prune(context.Background(), ended.Add(pruneGrace+time.Second), keep, -1); err != nil || n != 1 {
		t.Fatalf("pruning after the grace: %d pruned (%v), want the run", n, err)
	}
	if _, err := ts.Client.Result(context.Background(), "deploy_young"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GET /results after the grace: %v, want 404", err)
	}
}

// Opening costs the same at any size: it reads the newest executions, not
// every page. A damaged page among old rows does not stop the start; the
// background quick_check reports it in the log.
func TestOpenIsBoundedAndChecksInTheBackground(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, DBFile)
	s, _, err := OpenStore(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 600 {
		text := strings.Repeat("o", 3000)
		if i == 100 {
			text = "MARKER" + text[6:]
		}
		id, err := s.createExecution("row-"+itoaTest(i), "echo", raw(`{"text":"`+text+`"}`), "", time.Now())
		if err == nil {
			err = s.finishExecution(id, StatusCompleted, raw(`{}`), "", time.Now())
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	// Damage the page that holds an old row (row 100 of 600), header
	// included: far from the newest rows and from the schema.
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const page = 4096
	at := bytes.Index(b, []byte("MARKER"))
	if at < 0 {
		t.Fatal("marker row not in the file (still in the WAL?)")
	}
	for i := at / page * page; i < at/page*page+page; i++ {
		b[i] = 0xA5
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &testutil.Buffer{}
	svc, err := Open(context.Background(), Options{DataDir: dir, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatalf("Open refused a database with one damaged old page: %v", err)
	}
	defer svc.Shutdown(context.Background())
	testutil.Eventually(t, 20*time.Second, func() bool { return contains(logs.String(), "integrity check found damage") },
		"the background check to report the damage:\n%s", logs)
	// A file that is not a database at all is still refused at once.
	bad := filepath.Join(t.TempDir(), DBFile)
	os.WriteFile(bad, bytes.Repeat([]byte("not sqlite "), 1000), 0o600)
	if s, _, err := OpenStore(context.Background(), bad); err == nil {
		s.Close()
		t.Fatal("opened a file that is not a database")
	}
	_ = sql.ErrNoRows
	_ = fs.ErrNotExist
}

func itoaTest(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

// Run alone (no DATA_DIR), the binary's own folder under the user cache dir
// is 0700, also when an older version made it 0755, and its database 0600.
func TestBinaryOwnFolderPrivate(t *testing.T) {
	if runtime.GOOS != "linux" || testing.Short() {
		t.Skip("XDG_CACHE_HOME and Unix modes; builds the binary")
	}
	cache := t.TempDir()
	own := filepath.Join(cache, "xgen-workflow")
	if err := os.Mkdir(own, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := testutil.BuildBinary(t, "outrigger/cmd/xgen-workflow", "xgen-workflow")
	p := startProcess(t, bin, "", "DATA_DIR=", "XDG_CACHE_HOME="+cache, "HOME="+cache)
	if _, err := (&Client{BaseURL: p.url}).Deploy(ctxT(t, 20*time.Second), RunRequest{WorkflowID: "echo", Input: raw(`{"text":"a"}`)}); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(own); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("own folder %v %v, want 0700", st.Mode(), err)
	}
	for _, f := range []string{DBFile, DBFile + "-wal", DBFile + "-shm"} {
		if st, err := os.Stat(filepath.Join(own, f)); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v, want 0600", f, st.Mode(), err)
		}
	}
}

// A result is read as one snapshot: when pruning deletes an execution while
// GET /results reads it, the reply is the whole result as it was stored (or
// 404), never its row without its nodes.
func TestResultReadIsOneSnapshot(t *testing.T) {
	var armed atomic.Bool
	var ts *testService
	var pruned atomic.Int64
	pruneErr := make(chan error, 1)
	ts = startService(t, func(o *Options) {
		o.Keep, o.MaxDBBytes = -1, -1 // only the test prunes
		o.betweenReads = func() {
			if armed.CompareAndSwap(true, false) {
				// Two days on, with one hour kept: the finished run goes.
				n, err := ts.Store().Prune(context.Background(), time.Now().Add(48*time.Hour), time.Hour, -1)
				pruned.Store(int64(n))
				pruneErr <- err
			}
		}
	})
	if _, err := ts.Client.Deploy(ctxT(t, wait), RunRequest{WorkflowID: "pipeline", Input: raw(`{"delay_ms":0,"nodes":3}`),
		InteractionID: "snap"}); err != nil {
		t.Fatal(err)
	}
	armed.Store(true)
	r, err := ts.Client.Result(ctxT(t, wait), "deploy_snap")
	if perr := <-pruneErr; perr != nil || pruned.Load() != 1 {
		t.Fatalf("pruning during the read: %d pruned, %v; want 1", pruned.Load(), perr)
	}
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		t.Fatal(err)
	case r.Status != StatusCompleted || len(r.Nodes) != 3:
		t.Fatalf("result read while pruned: status %s with %d nodes, want completed with 3 (or 404)", r.Status, len(r.Nodes))
	}
	if _, err := ts.Client.Result(ctxT(t, wait), "deploy_snap"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after pruning: %v, want 404", err)
	}
}
