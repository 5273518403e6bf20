package diagnostics

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"outrigger/core/config"
)

func TestRedactShapes(t *testing.T) {
	r := newRedactor(config.Config{}, nil, []string{})
	m := config.Mask
	for _, c := range []struct{ in, want string }{
		{`POSTGRES_PASSWORD=hunter2 next`, `POSTGRES_PASSWORD=` + m + ` next`},
		{`{"api_key":"abc\"def","n":1}`, `{"api_key":"` + m + `","n":1}`},
		{`GITHUB_TOKEN = 'xyz'`, `GITHUB_TOKEN = '` + m + `'`},
		{`level=INFO secret: plain, more`, `level=INFO secret: ` + m + `, more`},
		{`port=8001 host=127.0.0.1`, `port=8001 host=127.0.0.1`},
		{`postgres://app:pw@db:5432/x`, `postgres://app:` + m + `@db:5432/x`},
		{`Authorization: bearer abc.def-ghi==`, `Authorization: bearer ` + m},
		{`API_KEY=` + m, `API_KEY=` + m},
	} {
		if got := string(r.redact([]byte(c.in))); got != c.want {
			t.Errorf("redact(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// Known values are masked wherever they appear, the longest first so a
// secret holding another is not left half visible; values too short to
// be secrets are left to the shape rules.
func TestRedactValues(t *testing.T) {
	cfg := config.Config{Sidecars: []config.Spec{{Name: "a", Env: map[string]string{
		"DB_PASSWORD": "abcd", "LONG_SECRET": "abcdef", "SHORT_KEY": "abc", "PLAIN": "abc-plain"}}}}
	raw := []byte("[[Sidecars]]\nsome_token = \"from-the-file\"\n")
	r := newRedactor(cfg, raw, []string{"MY_KEY=envval", "HOME=/home/u", "KEYBOARD_SWITCH=1"})
	in := "x abcdef y from-the-file z envval /home/u 1 abc"
	want := fmt.Sprintf("x %s y %[1]s z %[1]s /home/u 1 abc", config.Mask)
	if got := string(r.redact([]byte(in))); got != want {
		t.Errorf("redact(%q) = %q, want %q", in, got, want)
	}
}

func TestTailFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.log")
	var b strings.Builder
	// Lines of varying length across several 64 KiB blocks.
	for i := range 5000 {
		fmt.Fprintf(&b, "line %d %s\n", i, strings.Repeat("y", i%97))
	}
	if err := os.WriteFile(path, []byte(b.String()+"partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	data, n, err := tailFile(path, 1000)
	if err != nil {
		t.Fatal(err)
	}
	got := lines(data)
	if n != 1000 || len(got) != 1000 || !strings.HasPrefix(got[0], "line 4001 ") || got[999] != "partial" {
		t.Errorf("tail: n=%d len=%d first=%q last=%q", n, len(got), got[0], got[len(got)-1])
	}
}

// After a rotation the newest backup fills what the fresh file lacks.
func TestTailLogAcrossRotation(t *testing.T) {
	dir := t.TempDir()
	var old strings.Builder
	for i := range 50 {
		fmt.Fprintf(&old, "old %d\n", i)
	}
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("app-2026-01-01T00-00-00.000.log", "older backup\n")
	write("app-2026-01-02T00-00-00.000.log", old.String())
	write("app.log", "new 0\nnew 1\n")
	data, err := tailLog(filepath.Join(dir, "app.log"), 5)
	if err != nil {
		t.Fatal(err)
	}
	if want := "old 47\nold 48\nold 49\nnew 0\nnew 1\n"; string(data) != want {
		t.Errorf("tailLog = %q, want %q", data, want)
	}
}

func lines(b []byte) []string {
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// A secret holding a quote, a backslash or '<' is written escaped by the
// app's JSON log and quoted by slog's text format; it is masked there too,
// not only where it appears raw.
func TestRedactEscapedValues(t *testing.T) {
	const secret = `pa"ss\w<rd&`
	cfg := config.Config{Sidecars: []config.Spec{{Name: "a", Env: map[string]string{"DB_PASSWORD": secret}}}}
	r := newRedactor(cfg, nil, nil)
	var buf bytes.Buffer
	// An attribute whose name says nothing of a secret: only the value
	// mask can catch it.
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("sidecar line", "line", "connecting with "+secret)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("sidecar line", "line", "connecting with "+secret)
	enc, _ := json.Marshal("connecting with " + secret) // encoding/json's HTML escapes
	buf.WriteString(string(enc) + "\n")
	got := string(r.redact(buf.Bytes()))
	for _, leak := range []string{"pa", "ss", "rd"} {
		if strings.Contains(got, leak) {
			t.Errorf("part %q of the secret is left in:\n%s", leak, got)
		}
	}
	if n := strings.Count(got, config.Mask); n != 3 {
		t.Errorf("%d masks, want 3:\n%s", n, got)
	}
}
