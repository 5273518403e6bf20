package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Merge applies the user's file to base (normally Defaults()) and
// validates the result:
//
//   - top-level keys that are set override base;
//   - a [[sidecar]] whose name is in base overrides only the fields it sets:
//     env merges key by key, lists (args, depends_on, health) replace, and
//     in restart / liveness only the keys written change;
//   - a new name adds a sidecar after base's, in file order; it needs a port
//     and takes every other default from DefaultSpec;
//   - enabled = false removes the sidecar (or skips a new one);
//   - in the file, restart.max_retries = 0 and liveness values of 0 mean
//     the default, so the result never holds those zeros.
//
// On error the Config is the zero value; the error lists every problem
// (see Error). Merge does not know lines; Load adds them.
func Merge(base Config, f File) (Config, error) {
	c, errs := merge(base, f)
	if len(errs) > 0 {
		return Config{}, joinErrors(errs)
	}
	return c, nil
}

func merge(base Config, f File) (Config, []*Error) {
	c := base.Clone()
	if f.Mode != nil {
		c.Mode = *f.Mode
	}
	if f.GatewayURL != nil {
		c.GatewayURL = *f.GatewayURL
	}
	if f.Service != nil {
		c.Service = *f.Service
	}
	if f.SequentialStart != nil {
		c.SequentialStart = *f.SequentialStart
	}
	var errs []*Error
	disabled := map[string]bool{}
	seen := map[string]bool{}
	for i, sf := range f.Sidecars {
		if sf.Name == "" {
			errs = append(errs, &Error{Sidecar: fmt.Sprintf("#%d", i+1), Key: "name", Msg: "missing: every [[sidecar]] needs a name"})
			continue
		}
		if seen[sf.Name] {
			errs = append(errs, &Error{Sidecar: sf.Name, Msg: "declared twice; put all its keys in one [[sidecar]]"})
			continue
		}
		seen[sf.Name] = true
		if sf.Binary != nil && *sf.Binary == "" {
			errs = append(errs, &Error{Sidecar: sf.Name, Key: "binary", Msg: "must not be empty"})
		}
		idx := c.index(sf.Name)
		if sf.Enabled != nil && !*sf.Enabled {
			if idx >= 0 {
				c.Sidecars = slices.Delete(c.Sidecars, idx, idx+1)
			}
			disabled[sf.Name] = true
			continue
		}
		if idx < 0 {
			if sf.Port == nil {
				errs = append(errs, &Error{Sidecar: sf.Name, Key: "port",
					Msg: fmt.Sprintf("missing: a new sidecar needs a port (only %s have built-in defaults)", base.names())})
				continue
			}
			c.Sidecars = append(c.Sidecars, DefaultSpec(sf.Name, *sf.Port))
			idx = len(c.Sidecars) - 1
		}
		apply(&c.Sidecars[idx], sf)
	}
	errs = append(errs, c.validate(disabled)...)
	return c, errs
}

// apply sets on s the fields sf sets.
func apply(s *Spec, sf SidecarFile) {
	if sf.Binary != nil {
		s.Binary = *sf.Binary
	}
	if sf.Args != nil {
		s.Args = slices.Clone(sf.Args)
	}
	if sf.Port != nil {
		s.Port = *sf.Port
	}
	if sf.Host != nil {
		s.Host = *sf.Host
	}
	if sf.Env != nil {
		env := maps.Clone(s.Env)
		if env == nil {
			env = make(map[string]string, len(sf.Env))
		}
		maps.Copy(env, sf.Env)
		s.Env = env
	}
	if sf.AutoStart != nil {
		s.AutoStart = *sf.AutoStart
	}
	if sf.DependsOn != nil {
		s.DependsOn = slices.Clone(sf.DependsOn)
	}
	if sf.Health != nil {
		s.Health = slices.Clone(sf.Health)
	}
	if sf.StartupTimeout != nil {
		s.StartupTimeout = sf.StartupTimeout.Duration
	}
	if sf.StopTimeout != nil {
		s.StopTimeout = sf.StopTimeout.Duration
	}
	if sf.Adopt != nil {
		s.Adopt = *sf.Adopt
	}
	if r := sf.Restart; r != nil {
		if r.Policy != nil {
			s.Restart.Policy = *r.Policy
		}
		if r.InitialBackoff != nil {
			s.Restart.InitialBackoff = r.InitialBackoff.Duration
		}
		if r.MaxBackoff != nil {
			s.Restart.MaxBackoff = r.MaxBackoff.Duration
		}
		if r.Multiplier != nil {
			s.Restart.Multiplier = *r.Multiplier
		}
		if r.Jitter != nil {
			s.Restart.Jitter = *r.Jitter
		}
		if r.MaxRetries != nil {
			s.Restart.MaxRetries = orDefault(*r.MaxRetries, DefaultMaxRetries)
		}
		if r.StableAfter != nil {
			s.Restart.StableAfter = r.StableAfter.Duration
		}
	}
	if l := sf.Liveness; l != nil {
		if l.Period != nil {
			s.Liveness.Period = orDefault(l.Period.Duration, DefaultLivenessPeriod)
		}
		if l.Timeout != nil {
			s.Liveness.Timeout = orDefault(l.Timeout.Duration, DefaultLivenessTimeout)
		}
		if l.FailureThreshold != nil {
			s.Liveness.FailureThreshold = orDefault(*l.FailureThreshold, DefaultFailureThreshold)
		}
		if l.SuccessThreshold != nil {
			s.Liveness.SuccessThreshold = orDefault(*l.SuccessThreshold, DefaultSuccessThreshold)
		}
		if l.Disabled != nil {
			s.Liveness.Disabled = *l.Disabled
		}
	}
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Load is Defaults() merged with the file at path (a missing file is no
// error: the defaults). Errors name the file, and the line wherever the
// problem is in the file — also for problems only the merge finds (an
// unknown depends_on, a cycle, a new sidecar without a port). On error the
// Config is Defaults(), so a caller may report the error and carry on, and
// the File is what was parsed (empty when the file could not be parsed).
func Load(path string) (Config, File, error) {
	f, ln, err := readFile(path)
	if err != nil {
		return Defaults(), File{}, err
	}
	c, errs := merge(Defaults(), f)
	if len(errs) > 0 {
		for _, e := range errs {
			place(e, path, f, ln)
		}
		return Defaults(), f, joinErrors(errs)
	}
	return c, f, nil
}

// place sets e's file and, when the key is in the file, its line.
func place(e *Error, file string, f File, ln *lines) {
	e.File = file
	if ln == nil {
		return
	}
	var keyPath []string
	if e.Key != "" {
		keyPath = strings.Split(e.Key, ".")
	}
	if e.Sidecar == "" {
		if len(keyPath) > 0 {
			e.Line = ln.at(keyPath...)
		}
		if e.Line == 0 { // e.g. gateway_url missing in connected mode
			e.Line = ln.at("mode")
		}
		return
	}
	idx := -1
	for i, sf := range f.Sidecars {
		if sf.Name == e.Sidecar {
			idx = i
			break
		}
	}
	var n int
	if idx < 0 {
		if _, err := fmt.Sscanf(e.Sidecar, "#%d", &n); err == nil && n >= 1 {
			idx = n - 1
		}
	}
	if idx >= 0 {
		e.Line = ln.at(append([]string{"sidecar", elem(idx)}, keyPath...)...)
	}
}

// FromSpec returns the [[sidecar]] entry that turns defaults into s,
// setting only the fields that differ, so a saved file stays minimal. For a
// built-in sidecar pass its entry from Defaults(); for one the user added
// pass DefaultSpec(s.Name, 0), so that the port is always written. Env keys
// present in defaults but missing from s cannot be expressed (env merges
// key by key) and are ignored; Enabled is never set.
func FromSpec(s Spec, defaults Spec) SidecarFile {
	sf := SidecarFile{Name: s.Name}
	if s.BinaryName() != defaults.BinaryName() {
		sf.Binary = Ptr(s.BinaryName())
	}
	if !slices.Equal(s.Args, defaults.Args) {
		sf.Args = append([]string{}, s.Args...)
	}
	if s.Port != defaults.Port {
		sf.Port = Ptr(s.Port)
	}
	if s.Host != defaults.Host {
		sf.Host = Ptr(s.Host)
	}
	for _, k := range sortedKeys(s.Env) {
		if dv, ok := defaults.Env[k]; !ok || dv != s.Env[k] {
			if sf.Env == nil {
				sf.Env = map[string]string{}
			}
			sf.Env[k] = s.Env[k]
		}
	}
	if s.AutoStart != defaults.AutoStart {
		sf.AutoStart = Ptr(s.AutoStart)
	}
	if !slices.Equal(s.DependsOn, defaults.DependsOn) {
		sf.DependsOn = append([]string{}, s.DependsOn...)
	}
	if !slices.Equal(s.Health, defaults.Health) {
		sf.Health = append([]string{}, s.Health...)
	}
	if s.StartupTimeout != defaults.StartupTimeout {
		sf.StartupTimeout = D(s.StartupTimeout)
	}
	if s.StopTimeout != defaults.StopTimeout {
		sf.StopTimeout = D(s.StopTimeout)
	}
	if s.Adopt != defaults.Adopt {
		sf.Adopt = Ptr(s.Adopt)
	}

	var r RestartFile
	sr, dr := s.Restart, defaults.Restart
	if sr.Policy != dr.Policy {
		r.Policy = Ptr(sr.Policy)
	}
	if sr.InitialBackoff != dr.InitialBackoff {
		r.InitialBackoff = D(sr.InitialBackoff)
	}
	if sr.MaxBackoff != dr.MaxBackoff {
		r.MaxBackoff = D(sr.MaxBackoff)
	}
	if sr.Multiplier != dr.Multiplier {
		r.Multiplier = Ptr(sr.Multiplier)
	}
	if sr.Jitter != dr.Jitter {
		r.Jitter = Ptr(sr.Jitter)
	}
	if sr.MaxRetries != dr.MaxRetries {
		r.MaxRetries = Ptr(sr.MaxRetries)
	}
	if sr.StableAfter != dr.StableAfter {
		r.StableAfter = D(sr.StableAfter)
	}
	if r != (RestartFile{}) {
		sf.Restart = &r
	}

	var l LivenessFile
	sl, dl := s.Liveness, defaults.Liveness
	if sl.Period != dl.Period {
		l.Period = D(sl.Period)
	}
	if sl.Timeout != dl.Timeout {
		l.Timeout = D(sl.Timeout)
	}
	if sl.FailureThreshold != dl.FailureThreshold {
		l.FailureThreshold = Ptr(sl.FailureThreshold)
	}
	if sl.SuccessThreshold != dl.SuccessThreshold {
		l.SuccessThreshold = Ptr(sl.SuccessThreshold)
	}
	if sl.Disabled != dl.Disabled {
		l.Disabled = Ptr(sl.Disabled)
	}
	if l != (LivenessFile{}) {
		sf.Liveness = &l
	}
	return sf
}
