package config

import (
	"errors"

	"fmt"
	"github.com/BurntSushi/toml"
	"os"
	"outrigger/core/health"
	"outrigger/core/safefile"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// The example from SPEC.md, "Command line and files", verbatim.
const specExample = `mode = "service"                 # standalone | service | connected
gateway_url = ""                 # Connected mode
service = "xgen-workflow"        # the sidecar behind Service mode

[[sidecar]]
name = "xgen-workflow"
port = 8001
depends_on = ["xgen-embedding"]
env = { POSTGRES_HOST = "localhost", REDIS_HOST = "localhost" }
restart = { policy = "on-failure", initial_backoff = "500ms", max_backoff = "30s", max_retries = 10, stable_after = "60s" }

[[sidecar]]
name = "xgen-embedding"
port = 8002
startup_timeout = "90s"
`

// Parse reads outrigger.toml text as the Store does.
func Parse(filename string, data []byte) (File, error) {
	_, f, err := load(filename, data)
	return f, err
}

// Merge applies f over base as the loader does after decoding.
func Merge(base Config, f File) (Config, error) {
	c, errs := merge(base, f)
	if len(errs) > 0 {
		return Config{}, joinErrors(errs)
	}
	return c, nil
}

func mustParse(t *testing.T, src string) File {
	t.Helper()
	f, err := Parse("outrigger.toml", []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return f
}

func mustMerge(t *testing.T, base Config, f File) Config {
	t.Helper()
	c, err := Merge(base, f)
	if err != nil {
		t.Fatalf("Merge: %v", err)
	}
	return c
}

// wantErr checks that err's text contains every piece.
func wantErr(t *testing.T, err error, pieces ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want an error containing %q, got nil", pieces)
	}
	for _, p := range pieces {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q\n  does not contain %q", err, p)
		}
	}
}

// save writes f to path through a Store, as the editors do.
func save(path string, f File) error {
	return update(path, func(g *File) error { *g = f; return nil })
}

// update edits the file at path through a Store opened on it.
func update(path string, fn func(*File) error) error {
	st, err := Open(path, false)
	if err != nil {
		return err
	}
	return st.Update(fn)
}

func writeTemp(t *testing.T, src string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "outrigger.toml")
	if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaults(t *testing.T) {
	c := Defaults()
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	if c.Mode != "service" || c.Service != "xgen-workflow" || c.GatewayURL != "" || c.SequentialStart {
		t.Errorf("top level: %+v", c)
	}
	if len(c.Sidecars) != 2 {
		t.Fatalf("want 2 sidecars, got %d", len(c.Sidecars))
	}
	for i, want := range []struct {
		name string
		port int
	}{{"xgen-workflow", 8001}, {"xgen-embedding", 8002}} {
		s := c.Sidecars[i]
		if s.Name != want.name || s.Port != want.port || s.Binary != want.name {
			t.Errorf("sidecar %d: %s/%s:%d", i, s.Name, s.Binary, s.Port)
		}
		wantEnv := 0
		if s.Name == "xgen-workflow" {
			wantEnv = 1 // EMBEDDING_URL = "${url:xgen-embedding}"
		}
		if s.Host != "127.0.0.1" || !s.AutoStart || s.Adopt || len(s.Env) != wantEnv || s.DependsOn != nil || s.Args != nil {
			t.Errorf("%s: %+v", s.Name, s)
		}
		if !reflect.DeepEqual(s.Health, []string{"/health", "/docs", "/"}) {
			t.Errorf("%s health %v", s.Name, s.Health)
		}
		if s.StartupTimeout != 60*time.Second || s.StopTimeout != 10*time.Second {
			t.Errorf("%s timeouts %v %v", s.Name, s.StartupTimeout, s.StopTimeout)
		}
		wantR := RestartSpec{Policy: "on-failure", InitialBackoff: 500 * time.Millisecond, MaxBackoff: 30 * time.Second,
			Multiplier: 2, Jitter: 0.2, MaxRetries: 10, StableAfter: 60 * time.Second}
		if s.Restart != wantR {
			t.Errorf("%s restart %+v", s.Name, s.Restart)
		}
		wantL := LivenessSpec{Period: 10 * time.Second, Timeout: 2 * time.Second, FailureThreshold: 3, SuccessThreshold: 1}
		if s.Liveness != wantL {
			t.Errorf("%s liveness %+v", s.Name, s.Liveness)
		}
		if got := s.URL(); got != fmt.Sprintf("http://127.0.0.1:%d", want.port) {
			t.Errorf("URL %s", got)
		}
	}
	// Defaults are fresh each call.
	a := Defaults()
	a.Sidecars[0].Health[0] = "/changed"
	if Defaults().Sidecars[0].Health[0] != "/health" {
		t.Error("Defaults shares slices between calls")
	}
}

func TestURL(t *testing.T) {
	for host, want := range map[string]string{
		"127.0.0.1": "http://127.0.0.1:8001",
		"::1":       "http://[::1]:8001",
		"0.0.0.0":   "http://127.0.0.1:8001",
		"::":        "http://[::1]:8001",
		"localhost": "http://localhost:8001",
	} {
		s := DefaultSpec("x", 8001)
		s.Host = host
		if got := s.URL(); got != want {
			t.Errorf("host %q: %s, want %s", host, got, want)
		}
	}
}

func TestSidecarLookupCopies(t *testing.T) {
	c := Defaults()
	s, ok := c.Sidecar("xgen-embedding")
	if !ok || s.Port != 8002 {
		t.Fatalf("Sidecar: %v %+v", ok, s)
	}
	s.Health[0] = "/x"
	if c.Sidecars[1].Health[0] != "/health" {
		t.Error("Sidecar returned a shared slice")
	}
	if _, ok := c.Sidecar("nope"); ok {
		t.Error("found a missing sidecar")
	}
}

func TestMergeOverridesOnlySetFields(t *testing.T) {
	f := mustParse(t, `
[[sidecar]]
name = "xgen-workflow"
port = 9001
stop_timeout = "3s"
restart = { max_backoff = "5s" }
liveness = { failure_threshold = 5 }
`)
	c := mustMerge(t, Defaults(), f)
	got, _ := c.Sidecar("xgen-workflow")
	want, _ := Defaults().Sidecar("xgen-workflow")
	want.Port = 9001
	want.StopTimeout = 3 * time.Second
	want.Restart.MaxBackoff = 5 * time.Second
	want.Liveness.FailureThreshold = 5
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	emb, _ := c.Sidecar("xgen-embedding")
	if !reflect.DeepEqual(emb, DefaultSpec("xgen-embedding", 8002)) {
		t.Errorf("untouched sidecar changed: %+v", emb)
	}
	if c.Mode != "service" || c.Service != "xgen-workflow" {
		t.Errorf("top level changed: %+v", c)
	}
}

func TestMergeTopLevel(t *testing.T) {
	f := mustParse(t, `mode = "connected"
gateway_url = "https://xgen.example.com/api"
sequential_start = true
`)
	c := mustMerge(t, Defaults(), f)
	if c.Mode != "connected" || c.GatewayURL != "https://xgen.example.com/api" || !c.SequentialStart || c.Service != "xgen-workflow" {
		t.Errorf("%+v", c)
	}
}

func TestEnvMergesListsReplace(t *testing.T) {
	base := Defaults()
	base.Sidecars[0].Env = map[string]string{"A": "1", "B": "2"}
	base.Sidecars[0].Args = []string{"--old"}
	f := mustParse(t, `
[[sidecar]]
name = "xgen-workflow"
args = []
health = ["/ready"]
[sidecar.env]
B = "3"
C = 4
D = true
`)
	c := mustMerge(t, base, f)
	s, _ := c.Sidecar("xgen-workflow")
	if want := map[string]string{"A": "1", "B": "3", "C": "4", "D": "true"}; !reflect.DeepEqual(s.Env, want) {
		t.Errorf("env %v, want %v", s.Env, want)
	}
	if s.Args == nil || len(s.Args) != 0 {
		t.Errorf("args = [] should clear the list, got %#v", s.Args)
	}
	if !reflect.DeepEqual(s.Health, []string{"/ready"}) {
		t.Errorf("health %v", s.Health)
	}
	if base.Sidecars[0].Env["B"] != "2" {
		t.Error("Merge changed the base's env map")
	}
}

func TestNewSidecarAdded(t *testing.T) {
	f := mustParse(t, `
[[sidecar]]
name = "zeta"
port = 9100
binary = "zeta-server"
args = ["--fast"]
auto_start = false
depends_on = ["xgen-embedding"]

[[sidecar]]
name = "alpha"
port = 9000
`)
	c := mustMerge(t, Defaults(), f)
	var names []string
	for _, s := range c.Sidecars {
		names = append(names, s.Name)
	}
	if want := []string{"xgen-workflow", "xgen-embedding", "zeta", "alpha"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("order %v, want %v", names, want)
	}
	z, _ := c.Sidecar("zeta")
	want := DefaultSpec("zeta", 9100)
	want.Binary = "zeta-server"
	want.Args = []string{"--fast"}
	want.AutoStart = false
	want.DependsOn = []string{"xgen-embedding"}
	if !reflect.DeepEqual(z, want) {
		t.Errorf("got  %+v\nwant %+v", z, want)
	}
	a, _ := c.Sidecar("alpha")
	if a.Binary != "alpha" || a.Host != "127.0.0.1" || !a.AutoStart {
		t.Errorf("alpha defaults: %+v", a)
	}
}

func TestNewSidecarNeedsPort(t *testing.T) {
	p := writeTemp(t, "mode = \"service\"\n\n[[sidecar]]\nname = \"extra\"\nhost = \"localhost\"\n")
	_, _, err := Load(p)
	wantErr(t, err, p+":3:", `sidecar "extra"`, "port", "new sidecar needs a port")
}

func TestEnabledFalseRemoves(t *testing.T) {
	f := mustParse(t, `
[[sidecar]]
name = "xgen-embedding"
enabled = false

[[sidecar]]
name = "ghost"
enabled = false
`)
	c := mustMerge(t, Defaults(), f)
	if len(c.Sidecars) != 1 || c.Sidecars[0].Name != "xgen-workflow" {
		t.Fatalf("sidecars %+v", c.Sidecars)
	}

	// Removing the Service-mode sidecar while in service mode says why.
	p := writeTemp(t, "[[sidecar]]\nname = \"xgen-workflow\"\nenabled = false\n")
	_, _, err := Load(p)
	wantErr(t, err, `service: "xgen-workflow" is disabled`)
	// ... and is fine in standalone mode.
	p = writeTemp(t, "mode = \"standalone\"\n[[sidecar]]\nname = \"xgen-workflow\"\nenabled = false\n")
	if c, _, err := Load(p); err != nil || len(c.Sidecars) != 1 {
		t.Fatalf("standalone without xgen-workflow: %v %+v", err, c.Sidecars)
	}
	// Depending on a disabled sidecar says so.
	p = writeTemp(t, "[[sidecar]]\nname = \"xgen-embedding\"\nenabled = false\n[[sidecar]]\nname = \"xgen-workflow\"\ndepends_on = [\"xgen-embedding\"]\n")
	_, _, err = Load(p)
	wantErr(t, err, p+":6:", `sidecar "xgen-workflow": depends_on: "xgen-embedding" is disabled`)
}

func TestUnknownKeys(t *testing.T) {
	cases := []struct {
		name, src string
		want      []string
	}{
		{"top level", "mode = \"service\"\nmod = \"service\"\n",
			[]string{"outrigger.toml:2:", `unknown key "mod"`, `did you mean "mode"`}},
		{"top-level table", "mode = \"service\"\n\n[server]\nport = 1\n",
			[]string{"outrigger.toml:3:", `unknown key "server"`}},
		{"in the second [[sidecar]]", `
[[sidecar]]
name = "xgen-workflow"
port = 8001

[[sidecar]]
name = "xgen-embedding"
prot = 8002
`, []string{"outrigger.toml:8:", `sidecar "xgen-embedding"`, `unknown key "sidecar.prot"`, `did you mean "port"`}},
		{"inline restart table", `
[[sidecar]]
name = "xgen-workflow"
restart = { policy = "always", polcy = "never" }
`, []string{"outrigger.toml:4:", `sidecar "xgen-workflow"`, `unknown key "sidecar.restart.polcy"`, `did you mean "policy"`}},
		{"[sidecar.restart] subtable", `
[[sidecar]]
name = "xgen-workflow"

[[sidecar]]
name = "xgen-embedding"

[sidecar.restart]
policy = "always"
max_retry = 3
`, []string{"outrigger.toml:10:", `sidecar "xgen-embedding"`, `unknown key "sidecar.restart.max_retry"`, `did you mean "max_retries"`}},
		{"liveness", "[[sidecar]]\nname = \"xgen-workflow\"\n[sidecar.liveness]\nperiod = \"5s\"\nthreshold = 2\n",
			[]string{"outrigger.toml:5:", `unknown key "sidecar.liveness.threshold"`}},
		{"style alias", "[[sidecar]]\nname = \"xgen-workflow\"\nautoStart = false\n",
			[]string{"outrigger.toml:3:", `did you mean "auto_start"`}},
		{"dotted key", "[[sidecar]]\nname = \"xgen-workflow\"\nrestart.polciy = \"never\"\n",
			[]string{"outrigger.toml:3:", `unknown key "sidecar.restart.polciy"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("outrigger.toml", []byte(tc.src))
			wantErr(t, err, tc.want...)
			var e *Error
			if !errors.As(err, &e) || e.Line == 0 || e.File != "outrigger.toml" {
				t.Errorf("not a located *Error: %#v", err)
			}
		})
	}
}

func TestAllErrorsReportedInLineOrder(t *testing.T) {
	_, err := Parse("outrigger.toml", []byte(`
[[sidecar]]
name = "xgen-workflow"
port = 70000
bogus = 1

[[sidecar]]
name = "xgen-embedding"
port = "abc"
`))
	wantErr(t, err, "outrigger.toml:4:", "outrigger.toml:5:", "outrigger.toml:9:")
	msg := err.Error()
	if !(strings.Index(msg, ":4:") < strings.Index(msg, ":5:") && strings.Index(msg, ":5:") < strings.Index(msg, ":9:")) {
		t.Errorf("not in line order:\n%s", msg)
	}
	wantErr(t, err, `outrigger.toml:4: sidecar "xgen-workflow": port: must be 1..65535, got 70000`)
}

func TestSyntaxError(t *testing.T) {
	_, err := Parse("outrigger.toml", []byte("mode = \"service\"\n\n[[sidecar]]\nname = \"x\"\nport = 80 80\n"))
	wantErr(t, err, "outrigger.toml:5:")
	_, err = Parse("outrigger.toml", []byte("mode = \"service\"\n[[sidecar]\n"))
	wantErr(t, err, "outrigger.toml:2:", "delimiter ']', but got '\\n' instead") // the library's whole message
	_, err = Parse("outrigger.toml", []byte("a = \""+strings.Repeat("x", 5000)+"\\q\"\n"))
	if len(err.Error()) > 400 {
		t.Errorf("a %d-byte error for a bad escape in a 5 000-byte string", len(err.Error()))
	}
	_, err = Parse("outrigger.toml", []byte("[[sidecar]]\nname = \"a\"\nname = \"b\"\n"))
	wantErr(t, err, "outrigger.toml:3:")
	p := writeTemp(t, "[[sidecar]]\nname = \"x\"\nport = \n")
	_, _, err = Load(p)
	wantErr(t, err, p+":3:", "port")
}

func TestWrongType(t *testing.T) {
	_, err := Parse("outrigger.toml", []byte(`mode = "service"

[[sidecar]]
name = "xgen-workflow"

[[sidecar]]
name = "xgen-embedding"
port = "abc"
auto_start = "yes"
args = "--fast"
`))
	wantErr(t, err,
		`outrigger.toml:8: sidecar "xgen-embedding": port: must be an integer, got a string ("abc")`,
		`outrigger.toml:9: sidecar "xgen-embedding": auto_start: must be true or false`,
		`outrigger.toml:10: sidecar "xgen-embedding": args: must be an array of strings`)
	_, err = Parse("outrigger.toml", []byte("mode = 1\n"))
	wantErr(t, err, "outrigger.toml:1: mode: must be a string, got an integer (1)")
	_, err = Parse("outrigger.toml", []byte("[sidecar]\nname = \"x\"\n"))
	wantErr(t, err, "outrigger.toml:1: sidecar: must be an array of tables, written [[sidecar]]")
	_, err = Parse("outrigger.toml", []byte("[[sidecar]]\nname = \"x\"\nhealth = [\"/a\", 2]\n"))
	wantErr(t, err, "outrigger.toml:3:", "element 2 is an integer")
}

func TestBadDuration(t *testing.T) {
	_, err := Parse("outrigger.toml", []byte("[[sidecar]]\nname = \"xgen-workflow\"\nstartup_timeout = \"5 parsecs\"\n"))
	wantErr(t, err, `outrigger.toml:3: sidecar "xgen-workflow": startup_timeout: invalid duration "5 parsecs"`)
	_, err = Parse("outrigger.toml", []byte("[[sidecar]]\nname = \"xgen-workflow\"\nstop_timeout = 10\n"))
	wantErr(t, err, "outrigger.toml:3:", "stop_timeout", `"10s"`)
	_, err = Parse("outrigger.toml", []byte("[[sidecar]]\nname = \"xgen-workflow\"\nrestart = { initial_backoff = \"-1s\" }\n"))
	wantErr(t, err, "outrigger.toml:3:", "restart.initial_backoff: must not be negative")
	f := mustParse(t, "[[sidecar]]\nname = \"xgen-workflow\"\nstartup_timeout = \"1m30s\"\nrestart = { initial_backoff = \"250ms\" }\n")
	if *f.Sidecars[0].StartupTimeout != 90*time.Second || *f.Sidecars[0].Restart.InitialBackoff != 250*time.Millisecond {
		t.Errorf("%+v", f.Sidecars[0])
	}
}

func TestBadValues(t *testing.T) {
	cases := map[string]string{
		`name = "Bad_Name"`:                                         "name: must use only a-z, 0-9",
		`name = "outrigger"`:                                        `name: "outrigger" is reserved: logs/outrigger.log is the app's own log`,
		`host = "[::1]"`:                                            "host: not a host name",
		`health = ["health"]`:                                       `health: probe path must start with "/"`,
		`health = []`:                                               "health: needs at least one probe path",
		`restart = { policy = "sometimes" }`:                        `restart.policy: must be "always", "on-failure" or "never", got "sometimes"`,
		`restart = { jitter = 1.5 }`:                                "restart.jitter: must be between 0 and 1",
		`restart = { multiplier = 0.5 }`:                            "restart.multiplier: must be at least 1",
		`restart = { max_retries = -2 }`:                            "restart.max_retries: must be -1 (unlimited)",
		`startup_timeout = "0s"`:                                    "startup_timeout: must be greater than 0",
		`liveness = { failure_threshold = -1 }`:                     "liveness.failure_threshold: must not be negative",
		`env = { "A=B" = "x" }`:                                     `env.A=B: variable name "A=B"`,
		`restart = { initial_backoff = "10s", max_backoff = "1s" }`: "restart.max_backoff: 1s is less than initial_backoff (10s)",
	}
	for line, want := range cases {
		src := "[[sidecar]]\nname = \"xgen-workflow\"\n" + line + "\n"
		if strings.HasPrefix(line, "name") {
			src = "[[sidecar]]\n" + line + "\nport = 1\n"
		}
		_, err := Parse("outrigger.toml", []byte(src))
		wantErr(t, err, "outrigger.toml:", want)
	}
	_, err := Parse("f.toml", []byte("mode = \"servce\"\n"))
	wantErr(t, err, `f.toml:1: mode: must be "standalone", "service" or "connected", got "servce"`)
	_, err = Parse("f.toml", []byte("gateway_url = \"ftp://x\"\n"))
	wantErr(t, err, "f.toml:1: gateway_url: must be an http:// or https:// URL")
	_, err = Parse("f.toml", []byte("[[sidecar]]\nport = 9000\n"))
	wantErr(t, err, "f.toml:1: sidecar #1: has no name")
	_, err = Parse("f.toml", []byte("[[sidecar]]\nname = \"a\"\n\n[[sidecar]]\nname = \"a\"\n"))
	wantErr(t, err, `f.toml:4: sidecar "a": declared twice (first at line 1)`)
}

// A host or health path the probe cannot make a URL of is refused: such a
// sidecar would start but never become Ready (its probe URL does not
// parse). What is accepted makes a URL health.NewProber takes.
func TestProbeURLMustParse(t *testing.T) {
	bad := map[string]string{
		`host = "fe80::1%eth0"`:   `outrigger.toml:4: sidecar "xgen-workflow": host: an IPv6 zone (%...) is not supported`,
		`host = "fe80::1%25eth0"`: `outrigger.toml:4: sidecar "xgen-workflow": host: an IPv6 zone`,
		`host = "1.2.3.4:5"`:      `outrigger.toml:4: sidecar "xgen-workflow": host: "1.2.3.4:5" does not make a valid probe URL`,
		`health = ["/health%zz"]`: `outrigger.toml:4: sidecar "xgen-workflow": health: probe path "/health%zz" does not make a valid URL: invalid URL escape "%zz"`,
		`health = ["/ok", "/a%"]`: `outrigger.toml:4: sidecar "xgen-workflow": health: probe path "/a%" does not make a valid URL`,
	}
	for line, want := range bad {
		t.Run(line, func(t *testing.T) {
			_, err := Parse("outrigger.toml", []byte("[[sidecar]]\nname = \"xgen-workflow\"\nport = 9001\n"+line+"\n"))
			wantErr(t, err, want)
		})
	}
	for _, line := range []string{`host = "::1"`, `host = "fe80::1"`, `host = "localhost"`, `host = "0.0.0.0"`,
		`health = ["/a%20b", "/ready?x=1", "/ü"]`} {
		f := mustParse(t, "[[sidecar]]\nname = \"xgen-workflow\"\nport = 9001\n"+line+"\n")
		s, _ := mustMerge(t, Defaults(), f).Sidecar("xgen-workflow")
		for _, p := range s.Health {
			if _, err := health.NewProber(s.URL() + p); err != nil {
				t.Errorf("%s: accepted, but the probe refuses it: %v", line, err)
			}
		}
	}
}

func TestBinaryMustBePlainName(t *testing.T) {
	for _, b := range []string{"../evil", "bin/xgen", `bin\xgen`, "/usr/bin/python", "..", ".", "a..b", "C:xgen", ""} {
		src := fmt.Sprintf("[[sidecar]]\nname = \"xgen-workflow\"\nbinary = %q\n", b)
		_, err := Parse("outrigger.toml", []byte(src))
		wantErr(t, err, `outrigger.toml:3: sidecar "xgen-workflow": binary:`)
		// Merge (for a File built in code) refuses it too.
		f := File{Sidecars: []SidecarFile{{Name: "xgen-workflow", Binary: Ptr(b)}}}
		_, err = Merge(Defaults(), f)
		wantErr(t, err, `sidecar "xgen-workflow": binary:`)
	}
	f := mustParse(t, "[[sidecar]]\nname = \"xgen-workflow\"\nbinary = \"xgen-workflow-v2.exe\"\n")
	c := mustMerge(t, Defaults(), f)
	if s, _ := c.Sidecar("xgen-workflow"); s.Binary != "xgen-workflow-v2.exe" {
		t.Errorf("binary %q", s.Binary)
	}
}

func TestDependsOnUnknown(t *testing.T) {
	p := writeTemp(t, `
[[sidecar]]
name = "xgen-embedding"
port = 8002

[[sidecar]]
name = "xgen-workflow"
depends_on = ["xgen-embeding"]
`)
	_, _, err := Load(p)
	wantErr(t, err, p+":8:", `sidecar "xgen-workflow": depends_on: no sidecar is named "xgen-embeding"`)
}

func TestDependencyCycle(t *testing.T) {
	p := writeTemp(t, `
[[sidecar]]
name = "xgen-workflow"
depends_on = ["xgen-embedding"]

[[sidecar]]
name = "xgen-embedding"
depends_on = ["extra"]

[[sidecar]]
name = "extra"
port = 9000
depends_on = ["xgen-workflow"]
`)
	c, _, err := Load(p)
	wantErr(t, err, "dependency cycle: xgen-workflow -> xgen-embedding -> extra -> xgen-workflow", p+":13:")
	if !reflect.DeepEqual(c, Defaults()) {
		t.Error("Load on error should return the defaults")
	}
	self := Defaults()
	self.Sidecars[0].DependsOn = []string{"xgen-workflow"}
	wantErr(t, self.Validate(), "dependency cycle: xgen-workflow -> xgen-workflow")
	// A diamond is not a cycle.
	ok := Defaults()
	ok.Sidecars = append(ok.Sidecars, DefaultSpec("c", 9000))
	ok.Sidecars[0].DependsOn = []string{"xgen-embedding", "c"}
	ok.Sidecars[1].DependsOn = []string{"c"}
	if err := ok.Validate(); err != nil {
		t.Errorf("diamond: %v", err)
	}
}

func TestValidate(t *testing.T) {
	c := Defaults()
	c.Mode = "connected"
	wantErr(t, c.Validate(), "gateway_url: is required in connected mode")
	c.GatewayURL = "https://"
	wantErr(t, c.Validate(), "gateway_url: has no host")
	c.GatewayURL = "http://10.0.0.5:8000"
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
	c = Defaults()
	c.Service = "nope"
	wantErr(t, c.Validate(), `service: no sidecar is named "nope"`)
	c = Defaults()
	c.Sidecars[1].Port = 8001
	wantErr(t, c.Validate(), `sidecar "xgen-embedding": port: 8001 is already the port of sidecar "xgen-workflow"`)
	c = Defaults()
	c.Sidecars = append(c.Sidecars, DefaultSpec("xgen-workflow", 9000))
	wantErr(t, c.Validate(), "name: declared twice")
	c = Defaults()
	c.Sidecars[0].StopTimeout = -time.Second
	c.Sidecars[0].Port = 0
	c.Sidecars[0].Restart.Policy = ""
	err := c.Validate()
	wantErr(t, err, "stop_timeout: must not be negative", "port: must be 1..65535, got 0", "restart.policy")
	var e *Error
	if !errors.As(err, &e) || e.Sidecar != "xgen-workflow" {
		t.Errorf("errors.As: %#v", e)
	}

	p := writeTemp(t, "mode = \"connected\"\n")
	_, _, err = Load(p)
	wantErr(t, err, p+":1: gateway_url: is required in connected mode")
}

func TestSpecExample(t *testing.T) {
	p := writeTemp(t, specExample)
	c, f, err := Load(p)
	if err != nil {
		t.Fatalf("the SPEC's example does not load: %v", err)
	}
	if len(f.Sidecars) != 2 || f.Mode == nil || *f.Mode != "service" || f.GatewayURL == nil || *f.GatewayURL != "" {
		t.Fatalf("file %+v", f)
	}
	if c.Mode != "service" || c.Service != "xgen-workflow" || c.GatewayURL != "" {
		t.Errorf("top %+v", c)
	}
	wf, _ := c.Sidecar("xgen-workflow")
	want, _ := Defaults().Sidecar("xgen-workflow")
	want.DependsOn = []string{"xgen-embedding"}
	want.Env = map[string]string{"POSTGRES_HOST": "localhost", "REDIS_HOST": "localhost", "EMBEDDING_URL": "${url:xgen-embedding}"}
	if !reflect.DeepEqual(wf, want) {
		t.Errorf("xgen-workflow\n got  %+v\n want %+v", wf, want)
	}
	emb, _ := c.Sidecar("xgen-embedding")
	want = DefaultSpec("xgen-embedding", 8002)
	want.StartupTimeout = 90 * time.Second
	if !reflect.DeepEqual(emb, want) {
		t.Errorf("xgen-embedding\n got  %+v\n want %+v", emb, want)
	}
	if len(c.Sidecars) != 2 || c.Sidecars[0].Name != "xgen-workflow" {
		t.Errorf("sidecars %+v", c.Sidecars)
	}
}

func TestLoadMissingFileIsDefaults(t *testing.T) {
	c, f, err := Load(filepath.Join(t.TempDir(), "nope", "outrigger.toml"))
	if err != nil || !reflect.DeepEqual(c, Defaults()) || !reflect.DeepEqual(f, File{}) {
		t.Fatalf("%v %+v %+v", err, c, f)
	}
	f, err = ReadFile(filepath.Join(t.TempDir(), "missing.toml"))
	if err != nil || !reflect.DeepEqual(f, File{}) {
		t.Fatalf("ReadFile missing: %v %+v", err, f)
	}
	// A folder where the file should be is an error, not "missing".
	if _, err := ReadFile(t.TempDir()); err == nil {
		t.Error("reading a folder should fail")
	}
	// Empty file, BOM, CRLF.
	p := writeTemp(t, "\xef\xbb\xbfmode = \"standalone\"\r\n\r\n[[sidecar]]\r\nname = \"xgen-workflow\"\r\nprot = 1\r\n")
	_, _, err = Load(p)
	wantErr(t, err, p+":5:", `unknown key "sidecar.prot"`)
}

func fullFile() File {
	return File{
		Mode:            Ptr("connected"),
		GatewayURL:      Ptr("https://gw.example.com/x?y=1"),
		Service:         Ptr("xgen-workflow"),
		SequentialStart: Ptr(true),
		Sidecars: []SidecarFile{
			{
				Name:           "xgen-workflow",
				Port:           Ptr(8101),
				Env:            map[string]string{"POSTGRES_HOST": "db", "weird key.x": "quote \" backslash \\ tab \t nl \n ünïcødé \x01", "EMPTY": ""},
				DependsOn:      []string{"xgen-embedding"},
				Health:         []string{"/health"},
				Args:           []string{},
				StartupTimeout: Ptr(90 * time.Second),
				StopTimeout:    Ptr(1500 * time.Millisecond),
				Restart: &RestartFile{Policy: Ptr("always"), InitialBackoff: Ptr(time.Second), MaxBackoff: Ptr(time.Minute),
					Multiplier: Ptr(1.5), Jitter: Ptr(0.0), MaxRetries: Ptr(-1), StableAfter: Ptr(2 * time.Minute)},
				Liveness: &LivenessFile{Period: Ptr(5 * time.Second), Timeout: Ptr(time.Second), FailureThreshold: Ptr(2), SuccessThreshold: Ptr(1), Disabled: Ptr(false)},
				Adopt:    Ptr(true),
			},
			{Name: "xgen-embedding", Enabled: Ptr(true), Binary: Ptr("emb"), Host: Ptr("::1"), AutoStart: Ptr(false), Restart: &RestartFile{}, Env: map[string]string{}},
			{Name: "extra", Port: Ptr(9000), Args: []string{"--a", "b c"}},
		},
	}
}

func TestWriteFileRoundTripAndBackup(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "folder")
	p := filepath.Join(dir, "outrigger.toml")
	f := fullFile()
	if err := save(p, f); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFile(p)
	if err != nil {
		data, _ := os.ReadFile(p)
		t.Fatalf("%v\n%s", err, data)
	}
	if !reflect.DeepEqual(got, f) {
		data, _ := os.ReadFile(p)
		t.Fatalf("round trip differs\n got  %#v\n want %#v\n%s", got, f, data)
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if perm := st.Mode().Perm(); perm != 0o600 && runtime.GOOS != "windows" {
		t.Errorf("perm %o", perm)
	}
	if _, err := os.Stat(p + ".bak"); !os.IsNotExist(err) {
		t.Errorf("no .bak expected for a new file: %v", err)
	}
	first, _ := os.ReadFile(p)

	// Second write keeps the first as .bak.
	f.Mode = Ptr("standalone")
	if err := save(p, f); err != nil {
		t.Fatal(err)
	}
	bak, err := os.ReadFile(p + ".bak")
	if err != nil || string(bak) != string(first) {
		t.Fatalf(".bak does not hold the previous content: %v\n%s", err, bak)
	}
	if got, _ := ReadFile(p); *got.Mode != "standalone" {
		t.Errorf("mode %q", *got.Mode)
	}
	// Writing the same content again changes nothing (the .bak stays the real previous version).
	if err := save(p, f); err != nil {
		t.Fatal(err)
	}
	if bak2, _ := os.ReadFile(p + ".bak"); string(bak2) != string(first) {
		t.Error("an unchanged save replaced the .bak")
	}
	// No temporary files left behind.
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temp file left: %s", e.Name())
		}
	}
	// A file that would not load is refused and nothing changes.
	before, _ := os.ReadFile(p)
	bad := f
	bad.Sidecars = append([]SidecarFile(nil), f.Sidecars...)
	bad.Sidecars = append(bad.Sidecars, SidecarFile{Name: "noport"})
	wantErr(t, save(p, bad), "not saving", "port")
	if after, _ := os.ReadFile(p); string(after) != string(before) {
		t.Error("a refused save changed the file")
	}
}

func TestMarshalSpecExampleRoundTrip(t *testing.T) {
	f := mustParse(t, specExample)
	data, err := Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	g := mustParse(t, string(data))
	if !reflect.DeepEqual(f, g) {
		t.Errorf("differs:\n%s", data)
	}
}

func TestUpdate(t *testing.T) {
	p := writeTemp(t, specExample)
	err := update(p, func(f *File) error {
		f.Mode = Ptr("connected")
		f.GatewayURL = Ptr("http://127.0.0.1:9999")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	c, f, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.Mode != "connected" || c.GatewayURL != "http://127.0.0.1:9999" || len(f.Sidecars) != 2 {
		t.Errorf("%+v", c)
	}
	if s, _ := c.Sidecar("xgen-embedding"); s.StartupTimeout != 90*time.Second {
		t.Error("Update lost the rest of the file")
	}
	if bak, _ := os.ReadFile(p + ".bak"); string(bak) != specExample {
		t.Error(".bak is not the hand-written original")
	}
	// fn's error: nothing written.
	before, _ := os.ReadFile(p)
	boom := errors.New("boom")
	if err := update(p, func(f *File) error { f.Mode = Ptr("standalone"); return boom }); !errors.Is(err, boom) {
		t.Errorf("err %v", err)
	}
	if after, _ := os.ReadFile(p); string(after) != string(before) {
		t.Error("file changed although fn failed")
	}
	// Missing file: created.
	p2 := filepath.Join(t.TempDir(), "cfg", "outrigger.toml")
	if err := update(p2, func(f *File) error { f.Mode = Ptr("standalone"); return nil }); err != nil {
		t.Fatal(err)
	}
	if c, _, err := Load(p2); err != nil || c.Mode != "standalone" {
		t.Errorf("%v %+v", err, c)
	}
	// A broken file is not overwritten.
	p3 := writeTemp(t, "mode = [\n")
	if err := update(p3, func(f *File) error { return nil }); err == nil {
		t.Error("Update over a broken file should fail")
	}
}

func TestUpdateConcurrent(t *testing.T) {
	p := filepath.Join(t.TempDir(), "outrigger.toml")
	st, err := Open(p, false)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	const n = 20
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := st.Update(func(f *File) error {
				f.SetSidecar(SidecarFile{Name: fmt.Sprintf("s%d", i), Port: Ptr(9000 + i)})
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	c, _, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Sidecars) != 2+n {
		t.Errorf("lost updates: %d sidecars", len(c.Sidecars))
	}
}

// A clone shares nothing with its original: the store hands clones out,
// and a caller that edits one must not change the store's copy.
func TestCloneIsDeep(t *testing.T) {
	c := Defaults()
	c.API.AllowedOrigins = []string{"http://localhost:5173"}
	d := c.Clone()
	d.API.AllowedOrigins[0] = "http://evil.example"
	d.Sidecars[0].Env["EMBEDDING_URL"] = "changed"
	d.Sidecars[0].Health[0] = "/changed"
	if c.API.AllowedOrigins[0] != "http://localhost:5173" {
		t.Errorf("editing a clone's allowed_origins changed the original: %v", c.API.AllowedOrigins)
	}
	if c.Sidecars[0].Env["EMBEDDING_URL"] == "changed" || c.Sidecars[0].Health[0] == "/changed" {
		t.Errorf("editing a clone's sidecar changed the original: %+v", c.Sidecars[0])
	}
}

func TestFromSpec(t *testing.T) {
	def, _ := Defaults().Sidecar("xgen-workflow")
	if sf := FromSpec(def, def); !reflect.DeepEqual(sf, SidecarFile{Name: "xgen-workflow"}) {
		t.Errorf("unchanged spec should give a bare entry: %+v", sf)
	}
	s := def.Clone()
	s.Port = 8011
	s.Env = map[string]string{"POSTGRES_HOST": "db", "REDIS_HOST": "cache", "EMBEDDING_URL": def.Env["EMBEDDING_URL"]}
	s.Restart.MaxRetries = -1
	s.Liveness.Disabled = true
	s.Health = []string{"/ready"}
	sf := FromSpec(s, def)
	want := SidecarFile{Name: "xgen-workflow", Port: Ptr(8011), Env: map[string]string{"POSTGRES_HOST": "db", "REDIS_HOST": "cache"}, Health: []string{"/ready"},
		Restart: &RestartFile{MaxRetries: Ptr(-1)}, Liveness: &LivenessFile{Disabled: Ptr(true)}}
	if !reflect.DeepEqual(sf, want) {
		t.Errorf("got  %+v\nwant %+v", sf, want)
	}
	// Saving and loading gives the spec back.
	p := filepath.Join(t.TempDir(), "outrigger.toml")
	if err := update(p, func(f *File) error { f.SetSidecar(sf); return nil }); err != nil {
		t.Fatal(err)
	}
	c, _, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := c.Sidecar("xgen-workflow"); !reflect.DeepEqual(got, s) {
		t.Errorf("got  %+v\nwant %+v", got, s)
	}
	// A user-added sidecar: against DefaultSpec(name, 0) the port is always written.
	extra := DefaultSpec("extra", 9000)
	if sf := FromSpec(extra, DefaultSpec("extra", 0)); sf.Port == nil || *sf.Port != 9000 || sf.Binary != nil || sf.Health != nil {
		t.Errorf("%+v", sf)
	}
}

func TestSetSidecar(t *testing.T) {
	var f File
	f.SetSidecar(SidecarFile{Name: "a", Port: Ptr(1)})
	f.SetSidecar(SidecarFile{Name: "b", Port: Ptr(2)})
	f.SetSidecar(SidecarFile{Name: "a", Port: Ptr(3)})
	if len(f.Sidecars) != 2 || *f.Sidecars[0].Port != 3 {
		t.Errorf("%+v", f.Sidecars)
	}
}

// Durations are written as text ("1m30s"): the TOML library reads and
// writes time.Duration so.
func TestDurationText(t *testing.T) {
	f := mustParse(t, "[[sidecar]]\nname = \"xgen-workflow\"\nstop_timeout = \"1m30s\"\n")
	if d := f.Sidecars[0].StopTimeout; d == nil || *d != 90*time.Second {
		t.Fatal(d)
	}
	if b, _ := Marshal(f); !strings.Contains(string(b), `stop_timeout = "1m30s"`) {
		t.Errorf("%s", b)
	}
	if _, err := Parse("x", []byte("[[sidecar]]\nname = \"xgen-workflow\"\nstop_timeout = \"5 parsecs\"\n")); err == nil {
		t.Error("want error")
	}
}

func TestSecret(t *testing.T) {
	for k, want := range map[string]bool{
		"POSTGRES_PASSWORD": true, "api_key": true, "GITHUB_TOKEN": true, "client_secret": true, "Openai_Api_Key": true,
		"POSTGRES_HOST": false, "REDIS_HOST": false, "APP_PORT": false, "PROMPTS_CSV_PATH": false,
	} {
		if Secret(k) != want {
			t.Errorf("Secret(%q) = %v", k, !want)
		}
	}
}

func TestLocateLines(t *testing.T) {
	src := `# comment with [[sidecar]] and port = 1
mode = "service" # trailing
gateway_url = """
a
[[sidecar]]
b"""
service = 'xgen-workflow'
sidecar = [
  { name = "a", port = 1 },   # first
  { name = "b",
    port = 2 },
]
"quoted.key" = { "x y" = 1, z.w = 2 }
multi = '''
'''
[table]
[[arr]]
k = 1
[[arr]]
k = 2
[arr.sub]
v = 3
[[arr.list]]
q = 1
[[arr.list]]
q = 2
when = 1979-05-27 07:32:00Z
esc = "a\"b\u00e9"
last = 1
`
	l, lerr := scan("x", []byte(src))
	if lerr != nil {
		t.Fatal(lerr)
	}
	for _, tc := range []struct {
		path []string
		line int
	}{
		{[]string{"mode"}, 2},
		{[]string{"gateway_url"}, 3},
		{[]string{"service"}, 7},
		{[]string{"quoted.key", "x y"}, 13},
		{[]string{"quoted.key", "z", "w"}, 13},
		{[]string{"sidecar", "#1", "port"}, 8}, // in an inline table: the statement's line
		{[]string{"multi"}, 14},
		{[]string{"table"}, 16},
		{[]string{"arr", "#0", "k"}, 18},
		{[]string{"arr", "#1", "k"}, 20},
		{[]string{"arr", "#1", "sub", "v"}, 22},
		{[]string{"arr", "#1", "list", "#1", "q"}, 26},
		{[]string{"arr", "#1", "list", "#1", "when"}, 27},
		{[]string{"arr", "#1", "list", "#1", "esc"}, 28},
		{[]string{"arr", "#1", "list", "#1", "last"}, 29},
		{[]string{"arr", "#1", "list", "#1", "nope"}, 25}, // nearest enclosing
	} {
		if got := l.at(tc.path...); got != tc.line {
			t.Errorf("%q: line %d, want %d", tc.path, got, tc.line)
		}
	}
	// The document is valid TOML (so the test is fair), and the schema
	// errors it gives point at the right lines.
	var m map[string]any
	if _, err := toml.Decode(src, &m); err != nil {
		t.Fatal(err)
	}
	_, err := Parse("x", []byte(src))
	wantErr(t, err, "x:3: gateway_url: not a valid URL", `x:13: unknown key "quoted.key"`, `x:17: unknown key "arr"`)
}

// An everyday file with a problem is set aside and the defaults used; a
// --config file must be right; an unreadable file is never moved.
func TestOpenSetsCorruptFileAside(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "outrigger.toml")
	bad := "mode = \"service\"\n[[sidecar]\nname = \"xgen-workflow\"\n"
	if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	if st, err := Open(path, false); st != nil || err == nil || !strings.Contains(err.Error(), path+":2:") {
		t.Fatalf("--config with a corrupt file: %v, %v", st, err)
	}
	st, err := Open(path, true)
	var ce *CorruptError
	if !errors.As(err, &ce) || st == nil || !strings.Contains(ce.Err.Error(), path+":2:") {
		t.Fatalf("Open = %v, %v", st, err)
	}
	moved := ce.MovedTo
	if !strings.HasPrefix(moved, path+".corrupt-") || len(moved) != len(path+".corrupt-20060102-150405") {
		t.Errorf("moved to %q", moved)
	}
	if got, err := os.ReadFile(moved); err != nil || string(got) != bad {
		t.Errorf("the bad file was not kept intact: %q, %v", got, err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("the bad file is still in place: %v", err)
	}
	if !reflect.DeepEqual(st.Config(), Defaults()) {
		t.Errorf("config after setting aside = %+v", st.Config())
	}
	// The defaults can be saved again over the missing file.
	if err := st.Update(func(f *File) error { f.Mode = Ptr(ModeStandalone); return nil }); err != nil {
		t.Fatal(err)
	}
	// A file that parses but does not validate is moved too, and a second
	// one in the same second gets its own name; nothing is overwritten.
	if err := os.WriteFile(path, []byte("mode = \"turbo\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err = Open(path, true); !errors.As(err, &ce) || !strings.Contains(err.Error(), "turbo") || ce.MovedTo == moved {
		t.Fatalf("second Open: %v (first %q)", err, moved)
	}
	if got, _ := os.ReadFile(moved); string(got) != bad {
		t.Errorf("the first kept file was overwritten")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("files %v, want the two kept files only", entries)
	}
	// An unreadable file is not "corrupt" and stays.
	asDir := filepath.Join(dir, "dir.toml")
	if err := os.Mkdir(asDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if st, err := Open(asDir, true); st == nil || err == nil || errors.As(err, &ce) || !reflect.DeepEqual(st.Config(), Defaults()) {
		t.Errorf("Open(unreadable) = %v, %v; want nothing moved, the defaults and an error", st, err)
	}
	if st, err := Open(asDir, false); st != nil || err == nil {
		t.Errorf("Open(unreadable --config) = %v, %v", st, err)
	}
	if _, err := os.Stat(asDir); err != nil {
		t.Errorf("the unreadable file was moved: %v", err)
	}
}

// A corrupt file that was moved aside, whose folder then failed to sync,
// is moved: the store opens with the defaults. Before, it said the file
// "could not be set aside" (and the app did not start) while the file was
// no longer in place.
func TestOpenSetAsideSyncFailure(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outrigger.toml")
	if err := os.WriteFile(path, []byte("mode = [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	moveAside = func(p string) (string, error) {
		moved, err := safefile.SetAside(p)
		if err != nil {
			t.Fatal(err)
		}
		return moved, errors.New("fsync: input/output error")
	}
	t.Cleanup(func() { moveAside = safefile.SetAside })
	st, err := Open(path, true)
	var ce *CorruptError
	if st == nil || !errors.As(err, &ce) || ce.MovedTo == "" {
		t.Fatalf("Open = %v, %v; want the defaults and where the file went", st, err)
	}
	if _, err := os.Stat(ce.MovedTo); err != nil {
		t.Errorf("the moved file: %v", err)
	}
}
