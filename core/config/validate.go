package config

import (
	"fmt"
	"maps"
	"math"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"
)

// Validate is Problems joined into one error, or nil.
func (c Config) Validate() error { return joinErrors(c.validate(nil)) }

// Problems is the validator list, the one every editor calls (the file
// loader, the settings panel, the mode controller). It checks the resolved configuration: sidecar names valid and
// unique, binaries plain file names, ports 1..65535 and not shared, hosts,
// env keys, health paths, depends_on naming existing sidecars without
// cycles (the cycle is named), timeouts, restart and liveness values, the
// mode, the gateway URL (required in Connected mode) and the Service-mode
// sidecar. All problems are reported, not just the first, each with its
// sidecar and key as fields.
func (c Config) Problems() []*Error { return c.validate(nil) }

// validate is Validate; disabled names sidecars removed with enabled =
// false, for clearer messages.
func (c Config) validate(disabled map[string]bool) []*Error {
	var errs []*Error
	top := func(key, format string, a ...any) {
		errs = append(errs, &Error{Key: key, Msg: fmt.Sprintf(format, a...)})
	}
	if m := checkMode(c.Mode); m != "" {
		top("mode", "%s", m)
	}
	errs = append(errs, c.API.validate()...)
	switch {
	case c.GatewayURL != "":
		if m := checkGatewayURL(c.GatewayURL); m != "" {
			top("gateway_url", "%s", m)
		}
	case c.Mode == ModeConnected:
		top("gateway_url", `is required in connected mode (for example "https://xgen.example.com")`)
	}
	if c.Mode == ModeService {
		switch {
		case c.Service == "":
			top("service", "is required in service mode (the sidecar that serves it)")
		case slices.ContainsFunc(c.Sidecars, func(s Spec) bool { return s.Name == c.Service }):
		case disabled[c.Service]:
			top("service", "%q is disabled (enabled = false); choose another service or set mode = %q or %q", clip(c.Service), ModeStandalone, ModeConnected)
		default:
			top("service", "no sidecar is named %q (known: %s)", clip(c.Service), c.names())
		}
	}

	byName := map[string]int{}
	byPort := map[int]string{}
	for i, s := range c.Sidecars {
		label := s.Name
		if label == "" {
			label = fmt.Sprintf("#%d", i+1)
		}
		add := func(key, format string, a ...any) {
			errs = append(errs, &Error{Sidecar: label, Key: key, Msg: fmt.Sprintf(format, a...)})
		}
		if m := checkName(s.Name); m != "" {
			add("name", "%s", m)
		} else if _, dup := byName[s.Name]; dup {
			add("name", "declared twice")
		} else {
			byName[s.Name] = i
		}
		if s.Binary != "" {
			if m := checkBinary(s.Binary); m != "" {
				add("binary", "%s", m)
			}
		}
		for _, a := range s.Args {
			if strings.ContainsRune(a, 0) {
				add("args", "contains a NUL byte")
			}
		}
		if m := checkPort(s.Port); m != "" {
			add("port", "%s", m)
		} else if other, dup := byPort[s.Port]; dup {
			add("port", "%d is already the port of sidecar %q", s.Port, other)
		} else {
			byPort[s.Port] = s.Name
		}
		if m := checkHost(s.Host); m != "" {
			add("host", "%s", m)
		}
		for _, k := range slices.Sorted(maps.Keys(s.Env)) {
			if m := checkEnvKey(k); m != "" {
				add("env."+k, "%s", m)
			}
			if strings.ContainsRune(s.Env[k], 0) {
				add("env."+k, "value contains a NUL byte")
			}
		}
		if len(s.Health) == 0 {
			add("health", "needs at least one probe path (default %q)", DefaultHealth())
		}
		for _, p := range s.Health {
			if m := checkHealthPath(p); m != "" {
				add("health", "%s", m)
			}
		}
		if s.StartupTimeout <= 0 {
			add("startup_timeout", "must be greater than 0, got %s", s.StartupTimeout)
		}
		if s.StopTimeout < 0 {
			add("stop_timeout", "must not be negative, got %s", s.StopTimeout)
		}
		r := s.Restart
		if m := checkPolicy(r.Policy); m != "" {
			add("restart.policy", "%s", m)
		}
		nonNeg := func(key string, d time.Duration) {
			if d < 0 {
				add(key, "must not be negative, got %s", d)
			}
		}
		nonNeg("restart.initial_backoff", r.InitialBackoff)
		nonNeg("restart.max_backoff", r.MaxBackoff)
		nonNeg("restart.stable_after", r.StableAfter)
		if r.MaxBackoff >= 0 && r.InitialBackoff > r.MaxBackoff {
			add("restart.max_backoff", "%s is less than initial_backoff (%s)", r.MaxBackoff, r.InitialBackoff)
		}
		if m := checkMultiplier(r.Multiplier); m != "" {
			add("restart.multiplier", "%s", m)
		}
		if m := checkJitter(r.Jitter); m != "" {
			add("restart.jitter", "%s", m)
		}
		if m := checkMaxRetries(r.MaxRetries); m != "" {
			add("restart.max_retries", "%s", m)
		}
		l := s.Liveness
		nonNeg("liveness.period", l.Period)
		nonNeg("liveness.timeout", l.Timeout)
		if l.FailureThreshold < 0 {
			add("liveness.failure_threshold", "must not be negative, got %d", l.FailureThreshold)
		}
		if l.SuccessThreshold < 0 {
			add("liveness.success_threshold", "must not be negative, got %d", l.SuccessThreshold)
		}
	}

	// depends_on: known names, then cycles.
	for i, s := range c.Sidecars {
		for _, d := range s.DependsOn {
			if _, ok := byName[d]; ok {
				continue
			}
			label := s.Name
			if label == "" {
				label = fmt.Sprintf("#%d", i+1)
			}
			msg := fmt.Sprintf("no sidecar is named %q (known: %s)", clip(d), c.names())
			if disabled[d] {
				msg = fmt.Sprintf("%q is disabled (enabled = false)", d)
			}
			errs = append(errs, &Error{Sidecar: label, Key: "depends_on", Msg: msg})
		}
	}
	for _, ce := range NewGraph(c.Sidecars).Cycles() {
		errs = append(errs, &Error{Sidecar: ce.Sidecar(), Key: "depends_on", Msg: ce.Error()})
	}
	return errs
}

func (c Config) names() string {
	if len(c.Sidecars) == 0 {
		return "none"
	}
	var q []string
	for _, s := range c.Sidecars[:min(len(c.Sidecars), 8)] {
		q = append(q, fmt.Sprintf("%q", clip(s.Name)))
	}
	if n := len(c.Sidecars) - len(q); n > 0 {
		q = append(q, fmt.Sprintf("and %d more", n))
	}
	return strings.Join(q, ", ")
}

// CheckGatewayURL is the validator list's rule for gateway_url, for a URL
// typed in the window before it becomes part of a Config.
func CheckGatewayURL(u string) error { return check("gateway_url", checkGatewayURL(u)) }

// CheckBinary is the validator list's rule for a sidecar's binary: a plain
// file name, looked up only in the binaries folders, never a path.
func CheckBinary(b string) error { return check("binary", checkBinary(b)) }

// CheckEnvKey is the validator list's rule for an environment variable's
// name.
func CheckEnvKey(k string) error { return check("env", checkEnvKey(k)) }

func check(key, msg string) error {
	if msg == "" {
		return nil
	}
	return &Error{Key: key, Msg: msg}
}

// The checks below return "" when the value is fine, else the message.

func checkMode(m string) string {
	switch m {
	case ModeStandalone, ModeService, ModeConnected:
		return ""
	}
	return fmt.Sprintf("must be %q, %q or %q, got %q", ModeStandalone, ModeService, ModeConnected, clip(m))
}

func checkGatewayURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Sprintf("not a valid URL: %q", clip(s))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Sprintf("must be an http:// or https:// URL, got %q", clip(s))
	}
	if u.Hostname() == "" {
		return fmt.Sprintf("has no host: %q", clip(s))
	}
	return ""
}

func checkName(n string) string {
	if n == "" {
		return "must not be empty"
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return fmt.Sprintf("must use only a-z, 0-9 and \"-\", got %q", clip(n))
		}
	}
	return ""
}

func checkBinary(b string) string {
	switch {
	case b == "":
		return "must not be empty"
	case b == "." || b == "..":
		return fmt.Sprintf("%q is not a file name", clip(b))
	case strings.ContainsAny(b, `/\`) || filepath.IsAbs(b) || strings.Contains(b, ".."):
		return fmt.Sprintf("must be a plain file name, not a path, got %q (binaries are looked up in the binaries folders)", clip(b))
	case strings.ContainsRune(b, ':'):
		return fmt.Sprintf("must be a plain file name, got %q (\":\" is not allowed)", clip(b))
	}
	for _, r := range b {
		if unicode.IsControl(r) {
			return fmt.Sprintf("contains a control character: %q", clip(b))
		}
	}
	return ""
}

func checkPort(p int) string {
	if p < 1 || p > 65535 {
		return fmt.Sprintf("must be 1..65535, got %d", p)
	}
	return ""
}

func checkHost(h string) string {
	if h == "" {
		return "must not be empty"
	}
	for _, r := range h {
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune(".-_:%", r)) {
			return fmt.Sprintf("not a host name or IP address: %q (write IPv6 without brackets)", clip(h))
		}
	}
	return ""
}

func checkEnvKey(k string) string {
	if k == "" {
		return "empty variable name"
	}
	if strings.ContainsAny(k, "=\x00") {
		return fmt.Sprintf("variable name %q contains \"=\" or NUL", k)
	}
	return ""
}

func checkHealthPath(p string) string {
	if !strings.HasPrefix(p, "/") {
		return fmt.Sprintf("probe path must start with \"/\", got %q", clip(p))
	}
	for _, r := range p {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return fmt.Sprintf("probe path contains a space or control character: %q", clip(p))
		}
	}
	return ""
}

func checkPolicy(p string) string {
	switch p {
	case PolicyAlways, PolicyOnFailure, PolicyNever:
		return ""
	}
	return fmt.Sprintf("must be %q, %q or %q, got %q", PolicyAlways, PolicyOnFailure, PolicyNever, clip(p))
}

func checkMultiplier(m float64) string {
	if math.IsNaN(m) || math.IsInf(m, 0) || m < 1 {
		return fmt.Sprintf("must be at least 1, got %g", m)
	}
	return ""
}

func checkJitter(j float64) string {
	if math.IsNaN(j) || j < 0 || j > 1 {
		return fmt.Sprintf("must be between 0 and 1 (0.2 = ±20 %%), got %g", j)
	}
	return ""
}

func checkMaxRetries(n int) string {
	if n < UnlimitedRetries {
		return fmt.Sprintf("must be -1 (unlimited), 0 (default, %d) or more, got %d", DefaultMaxRetries, n)
	}
	return ""
}
