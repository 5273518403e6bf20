package diagnostics

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"outrigger/core/config"
	"outrigger/core/logs"
	"outrigger/core/supervisor"
)

// rings offers full rings without processes: Write reads nothing else.
type rings map[string]*logs.Ring

func (r rings) Snapshot() []supervisor.Status {
	var out []supervisor.Status
	for n := range r {
		out = append(out, supervisor.Status{Name: n, State: supervisor.Ready})
	}
	return out
}

func (r rings) Logs(name string) *logs.Ring { return r[name] }

// BenchmarkWrite: two sidecars with full rings (5 000 lines of ~100 bytes)
// and a 10 MB app log, the largest a report reads; reported per report.
func BenchmarkWrite(b *testing.B) {
	cfg := config.Defaults()
	cfg.Sidecars[0].Env["API_TOKEN"] = "bench-secret-value"
	src := rings{}
	for _, s := range cfg.Sidecars {
		r := logs.NewRing(0)
		for i := range r.Cap() {
			r.Append(logs.Line{Text: fmt.Sprintf("%s line %d token=abc%d %s", s.Name, i, i, strings.Repeat("x", 60))})
		}
		src[s.Name] = r
	}
	appLog := filepath.Join(b.TempDir(), "outrigger.log")
	line := `{"time":"2026-11-27T11:00:00Z","level":"INFO","msg":"something happened","sidecar":"xgen-workflow","n":1}` + "\n"
	if err := os.WriteFile(appLog, []byte(strings.Repeat(line, 10<<20/len(line))), 0o600); err != nil {
		b.Fatal(err)
	}
	o := Options{Config: cfg, Sidecars: src, AppLog: appLog, Now: time.Now()}
	b.ResetTimer()
	for b.Loop() {
		if err := Write(io.Discard, o); err != nil {
			b.Fatal(err)
		}
	}
}
