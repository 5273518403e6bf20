package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sort"
	"time"

	"github.com/BurntSushi/toml"
)

// File is the user's outrigger.toml as written. Every field is optional:
// nil means "not set", so the defaults apply.
type File struct {
	Mode            *string       `toml:"mode,omitempty"`
	GatewayURL      *string       `toml:"gateway_url,omitempty"`
	Service         *string       `toml:"service,omitempty"`
	SequentialStart *bool         `toml:"sequential_start,omitempty"`
	Sidecars        []SidecarFile `toml:"sidecar,omitempty"`
}

// SidecarFile is one [[sidecar]] table. A name matching a sidecar of the
// base configuration overrides only the fields set here (env merges key by
// key, lists replace); a new name adds a sidecar (port required);
// enabled = false removes one. A nil list is "not set"; an empty non-nil
// list is "set to empty".
type SidecarFile struct {
	Name           string            `toml:"name"`
	Enabled        *bool             `toml:"enabled,omitempty"`
	Binary         *string           `toml:"binary,omitempty"`
	Args           []string          `toml:"args,omitempty"`
	Port           *int              `toml:"port,omitempty"`
	Host           *string           `toml:"host,omitempty"`
	Env            map[string]string `toml:"env,omitempty"`
	AutoStart      *bool             `toml:"auto_start,omitempty"`
	DependsOn      []string          `toml:"depends_on,omitempty"`
	Health         []string          `toml:"health,omitempty"`
	StartupTimeout *Duration         `toml:"startup_timeout,omitempty"`
	StopTimeout    *Duration         `toml:"stop_timeout,omitempty"`
	Restart        *RestartFile      `toml:"restart,omitempty"`
	Liveness       *LivenessFile     `toml:"liveness,omitempty"`
	Adopt          *bool             `toml:"adopt,omitempty"`
}

// RestartFile is a sidecar's restart table. max_retries = 0 means the
// default (10), -1 unlimited.
type RestartFile struct {
	Policy         *string   `toml:"policy,omitempty"`
	InitialBackoff *Duration `toml:"initial_backoff,omitempty"`
	MaxBackoff     *Duration `toml:"max_backoff,omitempty"`
	Multiplier     *float64  `toml:"multiplier,omitempty"`
	Jitter         *float64  `toml:"jitter,omitempty"`
	MaxRetries     *int      `toml:"max_retries,omitempty"`
	StableAfter    *Duration `toml:"stable_after,omitempty"`
}

// LivenessFile is a sidecar's liveness table. A 0 means the default; to
// turn liveness off use disabled = true.
type LivenessFile struct {
	Period           *Duration `toml:"period,omitempty"`
	Timeout          *Duration `toml:"timeout,omitempty"`
	FailureThreshold *int      `toml:"failure_threshold,omitempty"`
	SuccessThreshold *int      `toml:"success_threshold,omitempty"`
	Disabled         *bool     `toml:"disabled,omitempty"`
}

// Duration is a time.Duration written in TOML as text: "500ms", "1m30s".
type Duration struct{ time.Duration }

// D makes a *Duration, for building a File.
func D(d time.Duration) *Duration { return &Duration{d} }

// MarshalText implements encoding.TextMarshaler ("1m30s").
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := parseDuration(string(b))
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

func parseDuration(s string) (time.Duration, error) {
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q (write a number with a unit: ms, s, m or h, for example \"500ms\" or \"1m30s\")", s)
	}
	return v, nil
}

// Ptr returns a pointer to v, for building a File: f.Mode = config.Ptr("standalone").
func Ptr[T any](v T) *T { return &v }

// SetSidecar replaces the [[sidecar]] entry with sc's name, or appends sc.
func (f *File) SetSidecar(sc SidecarFile) {
	for i := range f.Sidecars {
		if f.Sidecars[i].Name == sc.Name {
			f.Sidecars[i] = sc
			return
		}
	}
	f.Sidecars = append(f.Sidecars, sc)
}

// RemoveSidecar drops the [[sidecar]] entry named name (so a built-in
// sidecar goes back to its defaults; to remove a sidecar altogether set
// Enabled to false instead). It reports whether there was one.
func (f *File) RemoveSidecar(name string) bool {
	n := len(f.Sidecars)
	f.Sidecars = slices.DeleteFunc(f.Sidecars, func(s SidecarFile) bool { return s.Name == name })
	return len(f.Sidecars) != n
}

// Parse reads outrigger.toml text. filename is only used in messages.
// Syntax errors, unknown keys, values of the wrong type, bad durations and
// values that can never be valid (a port of 70000, a binary with a path)
// are reported with filename, line and key, all of them, ordered by line.
// Problems that need the whole configuration (depends_on, cycles, the
// Service-mode sidecar) are found by Merge / Load.
func Parse(filename string, data []byte) (File, error) {
	f, _, err := parse(filename, data)
	return f, err
}

// parse is Parse, also giving the key → line index for later messages.
func parse(filename string, data []byte) (File, *lines, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	var raw map[string]any
	if _, err := toml.Decode(string(data), &raw); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			// The library counts a newline it stopped at as the next line
			// ("[[sidecar]" + "\n" is reported one line late); the byte
			// offset tells the line the problem is on.
			line := pe.Position.Line
			if st := pe.Position.Start; st >= 0 && st <= len(data) {
				if l := 1 + bytes.Count(data[:st], []byte("\n")); l == line-1 {
					line = l
				}
			}
			e := &Error{File: filename, Line: line, Msg: pe.Message}
			if pe.LastKey != "" {
				e.Key = pe.LastKey
			}
			return File{}, nil, e
		}
		return File{}, nil, &Error{File: filename, Msg: err.Error()}
	}
	ln := locate(data)
	d := &decoder{file: filename, lines: ln}
	f := d.file_(raw)
	if err := joinErrors(d.errs); err != nil {
		return File{}, ln, err
	}
	return f, ln, nil
}

// ReadFile reads and parses the file at path. A missing file is an empty
// File and no error.
func ReadFile(path string) (File, error) {
	f, _, err := readFile(path)
	return f, err
}

func readFile(path string) (File, *lines, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return File{}, nil, nil
	}
	if err != nil {
		return File{}, nil, fmt.Errorf("config: %w", err)
	}
	return parse(path, data)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
