// Package config holds Outrigger's configuration: the sidecar specs, the
// compiled-in defaults that reproduce the seed (xgen-workflow on 8001,
// xgen-embedding on 8002), the user's outrigger.toml (parsing with errors
// that name file, line and key; merging over the defaults; the validator
// list) and the Store that owns and saves it. The folders it lives in are
// core/appdirs'; the depends_on graph is core/depgraph.
//
// Two shapes exist on purpose:
//
//   - [Config] / [Spec] are resolved: every field holds a concrete value.
//     [Defaults], [DefaultSpec] and loading a file always give fully resolved
//     values, so consumers never need to guess what a zero means.
//   - [File] / [SidecarFile] are the user's file as written: every field is
//     optional (nil = not set), so saving keeps the file minimal and a
//     default that changes in a later release still reaches the user.
//
// The package never imports Fyne and builds with CGO_ENABLED=0 on every OS.
package config

import (
	"cmp"
	"maps"
	"net"
	"slices"
	"strconv"
	"time"

	"outrigger/core/depgraph"
)

// Mode names, as written in outrigger.toml.
const (
	ModeStandalone = "standalone"
	ModeService    = "service"
	ModeConnected  = "connected"
)

// Restart policies.
const (
	PolicyAlways    = "always"
	PolicyOnFailure = "on-failure"
	PolicyNever     = "never"
)

// Built-in defaults; the restart and liveness ones are in DefaultRestart
// and DefaultLiveness.
const (
	DefaultHost           = "127.0.0.1"
	DefaultStartupTimeout = 60 * time.Second
	DefaultStopTimeout    = 10 * time.Second

	DefaultMode    = ModeService
	DefaultService = "xgen-workflow"

	// UnlimitedRetries as RestartSpec.MaxRetries (max_retries = -1) never
	// gives up.
	UnlimitedRetries = -1
)

// DefaultHealth is the default list of probe paths, tried in order.
func DefaultHealth() []string { return []string{"/health", "/docs", "/"} }

// Spec is one sidecar, fully resolved.
type Spec struct {
	Name           string            // [a-z0-9-]+, unique, not ReservedName
	Binary         string            // plain file name (never a path); "" is read as Name
	Args           []string          // arguments
	Port           int               // 1..65535, passed as APP_PORT
	Host           string            // passed as APP_HOST; default 127.0.0.1
	Env            map[string]string // the user's extra environment (PYTHONUNBUFFERED etc. are added by the supervisor)
	AutoStart      bool              // start when the app starts in Service mode; default true
	DependsOn      []string          // names that must be Ready first
	Health         []string          // probe paths, tried in order; each starts with "/"
	StartupTimeout time.Duration     // how long Starting may last; default 60s
	StopTimeout    time.Duration     // grace between SIGTERM and SIGKILL; default 10s
	Restart        RestartSpec
	Liveness       LivenessSpec
	Adopt          bool // adopt leftovers from an earlier run instead of ending them; default false
}

// RestartSpec is the watchdog's restart policy for one sidecar.
type RestartSpec struct {
	Policy         string        // "always" | "on-failure" | "never"; default "on-failure"
	InitialBackoff time.Duration // default 500ms (the first restart after a crash is immediate)
	MaxBackoff     time.Duration // default 30s; never below InitialBackoff
	Multiplier     float64       // default 2; >= 1
	Jitter         float64       // default 0.2 (±20 %); 0..1
	MaxRetries     int           // consecutive failed starts before Failed; default 10; -1 = unlimited (0 in a hand-built Spec is read as the default)
	StableAfter    time.Duration // Ready this long resets the counter; default 60s
}

// LivenessSpec is the periodic probe once a sidecar is Ready (Kubernetes'
// defaults). In outrigger.toml a 0 means "default"; loading always resolves
// it, so a merged Spec never holds a zero here unless built by hand.
type LivenessSpec struct {
	Period           time.Duration // default 10s
	Timeout          time.Duration // default 2s
	FailureThreshold int           // default 3
	SuccessThreshold int           // default 1
	Disabled         bool          // no liveness probing at all
}

// DefaultRestart returns the default restart policy (the SPEC's,
// "Watchdog").
func DefaultRestart() RestartSpec {
	return RestartSpec{
		Policy:         PolicyOnFailure,
		InitialBackoff: 500 * time.Millisecond,
		MaxBackoff:     30 * time.Second,
		Multiplier:     2,
		Jitter:         0.2,
		MaxRetries:     10,
		StableAfter:    60 * time.Second,
	}
}

// DefaultLiveness returns the default liveness settings (Kubernetes').
func DefaultLiveness() LivenessSpec {
	return LivenessSpec{
		Period:           10 * time.Second,
		Timeout:          2 * time.Second,
		FailureThreshold: 3,
		SuccessThreshold: 1,
	}
}

// DefaultSpec returns a sidecar with every default filled in: binary = name,
// host 127.0.0.1, auto-start, the default health paths, timeouts, restart
// and liveness. Build hand-made specs (tests, the settings editor) from it.
func DefaultSpec(name string, port int) Spec {
	return Spec{
		Name:           name,
		Binary:         name,
		Port:           port,
		Host:           DefaultHost,
		AutoStart:      true,
		Health:         DefaultHealth(),
		StartupTimeout: DefaultStartupTimeout,
		StopTimeout:    DefaultStopTimeout,
		Restart:        DefaultRestart(),
		Liveness:       DefaultLiveness(),
	}
}

// URL is the sidecar's base URL, "http://" + host:port. An unspecified
// listen address (0.0.0.0, ::, empty) is reached through loopback.
func (s Spec) URL() string {
	host := s.Host
	switch host {
	case "", "0.0.0.0":
		host = DefaultHost
	case "::", "[::]":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(s.Port))
}

// BinaryName is Binary, or Name when Binary is empty.
func (s Spec) BinaryName() string { return cmp.Or(s.Binary, s.Name) }

// Clone returns a deep copy (slices and the env map are not shared).
func (s Spec) Clone() Spec {
	s.Args = slices.Clone(s.Args)
	s.Env = maps.Clone(s.Env)
	s.DependsOn = slices.Clone(s.DependsOn)
	s.Health = slices.Clone(s.Health)
	return s
}

// Config is the whole resolved configuration.
type Config struct {
	Mode            string // "standalone" | "service" | "connected"; default "service"
	GatewayURL      string // the remote gateway for Connected mode
	GatewayToken    string // bearer token for the gateway; a secret, see wfapi.GatewayCredential
	Service         string // the sidecar behind Service mode; default "xgen-workflow"
	SequentialStart bool   // auto-start strictly one by one (the seed's behaviour); default false
	API             API    // [api]: the control API's optional TCP listener
	Sidecars        []Spec // the defaults' order, then new ones in file order
}

// Defaults returns the compiled-in configuration: Service mode backed by
// xgen-workflow (port 8001), and xgen-embedding (port 8002); both
// auto-start on 127.0.0.1 with every other default, no env and no
// dependencies (a user may add depends_on in outrigger.toml).
func Defaults() Config {
	// xgen-workflow as the seed runs it: its embed workflow calls
	// xgen-embedding; ${url:NAME} is expanded by the supervisor to that
	// sidecar's current address, so it follows a port moved off a busy one.
	workflow := DefaultSpec("xgen-workflow", 8001)
	workflow.Env = map[string]string{"EMBEDDING_URL": "${url:xgen-embedding}"}
	return Config{
		Mode:     DefaultMode,
		Service:  DefaultService,
		Sidecars: []Spec{workflow, DefaultSpec("xgen-embedding", 8002)},
	}
}

// Sidecar returns a copy of the named sidecar's spec.
func (c Config) Sidecar(name string) (Spec, bool) {
	for _, s := range c.Sidecars {
		if s.Name == name {
			return s.Clone(), true
		}
	}
	return Spec{}, false
}

// Clone returns a deep copy.
func (c Config) Clone() Config {
	c.API.AllowedOrigins = slices.Clone(c.API.AllowedOrigins)
	c.Sidecars = slices.Clone(c.Sidecars)
	for i, s := range c.Sidecars {
		c.Sidecars[i] = s.Clone()
	}
	return c
}

// NewGraph is the depends_on graph of specs, in their order.
func NewGraph(specs []Spec) depgraph.Graph {
	nodes := make([]depgraph.Node, len(specs))
	for i, s := range specs {
		nodes[i] = depgraph.Node{Name: s.Name, DependsOn: s.DependsOn}
	}
	return depgraph.New(nodes)
}
