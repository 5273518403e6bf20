package config

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"

	"outrigger/core/health"
)

// Validate is Problems joined into one error, or nil.
func (c Config) Validate() error { return joinErrors(c.validate(nil)) }

// Problems is the validator list, the one every editor calls (the file
// loader, the settings panel, the mode controller). It checks the resolved
// configuration: sidecar names valid and unique, binaries plain file
// names, ports 1..65535 and not shared, hosts, env keys, health paths,
// depends_on naming existing sidecars without cycles (the cycle is named),
// timeouts, restart and liveness values, the mode, the gateway URL
// (required in Connected mode), the Service-mode sidecar and the [api]
// listener and origins. All problems are reported, not just the first, each with its
// sidecar and key as fields.
func (c Config) Problems() []*Error { return c.validate(nil) }

// validate is Problems; disabled names sidecars removed with enabled =
// false, for clearer messages.
func (c Config) validate(disabled map[string]bool) []*Error {
	var errs []*Error
	// add reports msg, unless it is "" (the value is fine).
	add := func(sidecar, key, msg string) {
		if msg != "" {
			errs = append(errs, &Error{Sidecar: sidecar, Key: key, Msg: msg})
		}
	}
	add("", "mode", oneOf(c.Mode, ModeStandalone, ModeService, ModeConnected))
	if c.API.Listen != "" {
		add("", "api.listen", checkAPIListen(c.API.Listen))
	}
	for _, o := range c.API.AllowedOrigins {
		add("", "api.allowed_origins", checkOrigin(o))
	}
	switch {
	case c.GatewayURL != "":
		add("", "gateway_url", checkGatewayURL(c.GatewayURL))
	case c.Mode == ModeConnected:
		add("", "gateway_url", `is required in connected mode (for example "https://xgen.example.com")`)
	}
	add("", "gateway_token", checkGatewayToken(c.GatewayToken))
	if c.Mode == ModeService {
		switch {
		case c.Service == "":
			add("", "service", "is required in service mode (the sidecar that serves it)")
		case slices.ContainsFunc(c.Sidecars, func(s Spec) bool { return s.Name == c.Service }):
		case disabled[c.Service]:
			add("", "service", fmt.Sprintf("%q is disabled (enabled = false); choose another service or set mode = %q or %q",
				clip(c.Service), ModeStandalone, ModeConnected))
		default:
			add("", "service", fmt.Sprintf("no sidecar is named %q (known: %s)", clip(c.Service), c.names()))
		}
	}

	byName := map[string]bool{}
	byPort := map[int]string{}
	for i, s := range c.Sidecars {
		label := s.label(i)
		switch m := checkName(s.Name); {
		case m != "":
			add(label, "name", m)
		case byName[s.Name]:
			add(label, "name", "declared twice")
		default:
			byName[s.Name] = true
		}
		if s.Binary != "" {
			add(label, "binary", checkBinary(s.Binary))
		}
		for _, a := range s.Args {
			add(label, "args", msgIf(strings.ContainsRune(a, 0), "contains a NUL byte"))
		}
		switch other, dup := byPort[s.Port]; {
		case s.Port < 1 || s.Port > 65535:
			add(label, "port", fmt.Sprintf("must be 1..65535, got %d", s.Port))
		case dup:
			add(label, "port", fmt.Sprintf("%d is already the port of sidecar %q", s.Port, other))
		default:
			byPort[s.Port] = s.Name
		}
		hostMsg := checkHost(s.Host)
		if hostMsg == "" {
			hostMsg = checkProbeURL(s, "")
		}
		add(label, "host", hostMsg)
		for _, k := range slices.Sorted(maps.Keys(s.Env)) {
			add(label, "env."+k, checkEnvKey(k))
			add(label, "env."+k, msgIf(strings.ContainsRune(s.Env[k], 0), "value contains a NUL byte"))
		}
		add(label, "health", msgIf(len(s.Health) == 0, "needs at least one probe path (default %q)", DefaultHealth()))
		for _, p := range s.Health {
			m := checkHealthPath(p)
			if m == "" && hostMsg == "" { // a bad host would fail every path's URL
				m = checkProbeURL(s, p)
			}
			add(label, "health", m)
		}
		add(label, "startup_timeout", msgIf(s.StartupTimeout <= 0, "must be greater than 0, got %s", s.StartupTimeout))
		add(label, "stop_timeout", nonNegative(s.StopTimeout))

		r := s.Restart
		add(label, "restart.policy", oneOf(r.Policy, PolicyAlways, PolicyOnFailure, PolicyNever))
		add(label, "restart.initial_backoff", nonNegative(r.InitialBackoff))
		add(label, "restart.max_backoff", nonNegative(r.MaxBackoff))
		add(label, "restart.stable_after", nonNegative(r.StableAfter))
		add(label, "restart.max_backoff", msgIf(r.MaxBackoff >= 0 && r.InitialBackoff > r.MaxBackoff,
			"%s is less than initial_backoff (%s)", r.MaxBackoff, r.InitialBackoff))
		add(label, "restart.multiplier", msgIf(math.IsNaN(r.Multiplier) || math.IsInf(r.Multiplier, 0) || r.Multiplier < 1,
			"must be at least 1, got %g", r.Multiplier))
		add(label, "restart.jitter", msgIf(math.IsNaN(r.Jitter) || r.Jitter < 0 || r.Jitter > 1,
			"must be between 0 and 1 (0.2 = ±20 %%), got %g", r.Jitter))
		add(label, "restart.max_retries", msgIf(r.MaxRetries < UnlimitedRetries,
			"must be -1 (unlimited), 0 (default, %d) or more, got %d", DefaultRestart().MaxRetries, r.MaxRetries))

		l := s.Liveness
		add(label, "liveness.period", nonNegative(l.Period))
		add(label, "liveness.timeout", nonNegative(l.Timeout))
		add(label, "liveness.failure_threshold", nonNegative(l.FailureThreshold))
		add(label, "liveness.success_threshold", nonNegative(l.SuccessThreshold))
	}

	// depends_on: known names, then cycles.
	for i, s := range c.Sidecars {
		for _, d := range s.DependsOn {
			switch {
			case byName[d]:
			case disabled[d]:
				add(s.label(i), "depends_on", fmt.Sprintf("%q is disabled (enabled = false)", d))
			default:
				add(s.label(i), "depends_on", fmt.Sprintf("no sidecar is named %q (known: %s)", clip(d), c.names()))
			}
		}
	}
	for _, ce := range NewGraph(c.Sidecars).Cycles() {
		add(ce.Sidecar(), "depends_on", ce.Error())
	}
	return errs
}

// label names the i-th sidecar in messages: its name, or "#N" without one.
func (s Spec) label(i int) string { return cmp.Or(s.Name, fmt.Sprintf("#%d", i+1)) }

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

// CheckGatewayToken is the validator list's rule for gateway_token, for a
// token typed in the window. Its messages never quote the token.
func CheckGatewayToken(t string) error { return check("gateway_token", checkGatewayToken(t)) }

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

func checkGatewayURL(s string) string {
	switch u, err := url.Parse(s); {
	case err != nil:
		return fmt.Sprintf("not a valid URL: %q", clip(s))
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Sprintf("must be an http:// or https:// URL, got %q", clip(s))
	case u.Hostname() == "":
		return fmt.Sprintf("has no host: %q", clip(s))
	}
	return ""
}

// checkGatewayToken: a bearer token goes into an HTTP header, so it is
// visible ASCII without spaces (RFC 6750's b64token is narrower; real
// gateways hand out JWTs and opaque keys that fit this). The value is
// never quoted: it is a secret.
func checkGatewayToken(t string) string {
	if i := strings.IndexFunc(t, func(r rune) bool { return r <= ' ' || r > '~' }); i >= 0 {
		return fmt.Sprintf("must be printable ASCII without spaces (character %d is not); paste the token exactly as the gateway gave it", i+1)
	}
	if len(t) > 8<<10 {
		return fmt.Sprintf("is %d bytes long, more than a gateway accepts in a header (8 KiB)", len(t))
	}
	return ""
}

// ReservedName is the name no sidecar may take: the app's own log is
// <log folder>/ReservedName.log, beside each sidecar's <name>.log.
const ReservedName = "outrigger"

func checkName(n string) string {
	switch {
	case n == "":
		return "must not be empty"
	case strings.ContainsFunc(n, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') }):
		return fmt.Sprintf("must use only a-z, 0-9 and \"-\", got %q", clip(n))
	case n == ReservedName:
		// A sidecar's log is logs/<name>.log: this one would share, and
		// rotate, the app's own log file.
		return fmt.Sprintf("%q is reserved: logs/%s.log is the app's own log", n, n)
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
	case strings.ContainsFunc(b, unicode.IsControl):
		return fmt.Sprintf("contains a control character: %q", clip(b))
	}
	return ""
}

func checkHost(h string) string {
	switch {
	case h == "":
		return "must not be empty"
	case strings.ContainsRune(h, '%'):
		// Neither form works: "fe80::1%eth0" makes a probe URL that does not
		// parse, "fe80::1%25eth0" an APP_HOST and a port check that cannot bind.
		return fmt.Sprintf("an IPv6 zone (%%...) is not supported, got %q", clip(h))
	case strings.ContainsFunc(h, func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune(".-_:", r))
	}):
		return fmt.Sprintf("not a host name or IP address: %q (write IPv6 without brackets)", clip(h))
	}
	return ""
}

// checkProbeURL builds the URL the readiness and liveness probes build from
// s's host and path (Spec.URL, then the path, through health.NewProber)
// and reports why it is refused: a sidecar whose probe URL does not parse
// never becomes Ready. The port is a stand-in, as the sidecar may run on
// another port than s.Port (one moved off a busy port).
func checkProbeURL(s Spec, path string) string {
	at := s
	at.Port = 1
	_, err := health.NewProber(at.URL() + path)
	if err == nil {
		return ""
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if path == "" {
		return fmt.Sprintf("%q does not make a valid probe URL: %v", clip(s.Host), err)
	}
	return fmt.Sprintf("probe path %q does not make a valid URL: %v (write a literal %% as %%25)", clip(path), err)
}

func checkEnvKey(k string) string {
	switch {
	case k == "":
		return "empty variable name"
	case strings.ContainsAny(k, "=\x00"):
		return fmt.Sprintf("variable name %q contains \"=\" or NUL", clip(k))
	}
	return ""
}

func checkHealthPath(p string) string {
	switch {
	case !strings.HasPrefix(p, "/"):
		return fmt.Sprintf("probe path must start with \"/\", got %q", clip(p))
	case strings.ContainsFunc(p, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		return fmt.Sprintf("probe path contains a space or control character: %q", clip(p))
	}
	return ""
}

// oneOf checks that v is one of the allowed values.
func oneOf(v string, allowed ...string) string {
	if slices.Contains(allowed, v) {
		return ""
	}
	q := make([]string, len(allowed))
	for i, a := range allowed {
		q[i] = fmt.Sprintf("%q", a)
	}
	return fmt.Sprintf("must be %s or %s, got %q", strings.Join(q[:len(q)-1], ", "), q[len(q)-1], clip(v))
}

// msgIf is the message when bad is true, else "".
func msgIf(bad bool, format string, a ...any) string {
	if !bad {
		return ""
	}
	return fmt.Sprintf(format, a...)
}

func nonNegative[T time.Duration | int](v T) string {
	return msgIf(v < 0, "must not be negative, got %v", v)
}
