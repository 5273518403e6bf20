package config

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// decoder turns the TOML library's generic tree into a File, checking the
// schema itself so that every unknown key, wrong type and bad value is
// reported with its own line (the library's errors stop at the first one
// and, inside [[sidecar]], may point at the wrong table).
type decoder struct {
	file  string
	lines *lines
	errs  []*Error
}

var (
	topKeys      = []string{"mode", "gateway_url", "service", "sequential_start", "sidecar"}
	sidecarKeys  = []string{"name", "enabled", "binary", "args", "port", "host", "env", "auto_start", "depends_on", "health", "startup_timeout", "stop_timeout", "restart", "liveness", "adopt"}
	restartKeys  = []string{"policy", "initial_backoff", "max_backoff", "multiplier", "jitter", "max_retries", "stable_after"}
	livenessKeys = []string{"period", "timeout", "failure_threshold", "success_threshold", "disabled"}
)

// at is the position and naming context of one value.
type at struct {
	path    []string // for the line lookup: sidecar #0 restart policy
	sidecar string   // label for messages
	key     string   // dotted key relative to the sidecar / top level
}

func (a at) child(k string) at {
	key := k
	if a.key != "" {
		key = a.key + "." + k
	}
	return at{path: append(append([]string(nil), a.path...), k), sidecar: a.sidecar, key: key}
}

func (d *decoder) errorf(a at, format string, args ...any) {
	d.errs = append(d.errs, &Error{
		File: d.file, Line: d.lines.at(a.path...), Sidecar: a.sidecar, Key: a.key,
		Msg: fmt.Sprintf(format, args...),
	})
}

func (d *decoder) unknown(a at, k string, known []string) {
	full := "sidecar." + a.child(k).key
	if a.sidecar == "" {
		full = a.child(k).key
	}
	msg := fmt.Sprintf("unknown key %q", full)
	if s := suggest(k, known); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	} else {
		msg += " (known keys: " + strings.Join(known, ", ") + ")"
	}
	c := a.child(k)
	d.errs = append(d.errs, &Error{
		File: d.file, Line: d.lines.at(c.path...), Sidecar: a.sidecar, Key: c.key,
		Msg: msg, keyInMsg: true,
	})
}

// keys returns m's keys in file order (then by name), so that errors come
// out in a stable, readable order.
func (d *decoder) keys(a at, m map[string]any) []string {
	ks := sortedKeys(m)
	sort.SliceStable(ks, func(i, j int) bool {
		return d.lines.at(a.child(ks[i]).path...) < d.lines.at(a.child(ks[j]).path...)
	})
	return ks
}

func (d *decoder) file_(m map[string]any) File {
	var f File
	root := at{}
	for _, k := range d.keys(root, m) {
		v, a := m[k], root.child(k)
		switch k {
		case "mode":
			if s := d.str(a, v); s != nil {
				if msg := checkMode(*s); msg != "" {
					d.errorf(a, "%s", msg)
				}
				f.Mode = s
			}
		case "gateway_url":
			if s := d.str(a, v); s != nil {
				if *s != "" {
					if msg := checkGatewayURL(*s); msg != "" {
						d.errorf(a, "%s", msg)
					}
				}
				f.GatewayURL = s
			}
		case "service":
			if s := d.str(a, v); s != nil {
				if *s != "" {
					if msg := checkName(*s); msg != "" {
						d.errorf(a, "%s", msg)
					}
				}
				f.Service = s
			}
		case "sequential_start":
			f.SequentialStart = d.boolean(a, v)
		case "sidecar":
			f.Sidecars = d.sidecars(a, v)
		default:
			d.unknown(root, k, topKeys)
		}
	}
	return f
}

func (d *decoder) sidecars(a at, v any) []SidecarFile {
	var tables []map[string]any
	switch v := v.(type) {
	case []map[string]any:
		tables = v
	case []any:
		for i, e := range v {
			t, ok := e.(map[string]any)
			if !ok {
				d.errorf(a.child(elem(i)), "each sidecar must be a table, got %s", typeName(e))
				continue
			}
			tables = append(tables, t)
		}
	default:
		d.errorf(a, "must be an array of tables, written [[sidecar]] (one per sidecar), got %s", typeName(v))
		return nil
	}
	out := make([]SidecarFile, 0, len(tables))
	first := map[string]int{} // name → line of its first [[sidecar]]
	for i, t := range tables {
		sa := at{path: []string{"sidecar", elem(i)}, sidecar: fmt.Sprintf("#%d", i+1)}
		var sf SidecarFile
		if nv, ok := t["name"]; ok {
			if s := d.str(sa.child("name"), nv); s != nil {
				if msg := checkName(*s); msg != "" {
					d.errorf(sa.child("name"), "%s", msg)
				} else {
					sf.Name = *s
					sa.sidecar = *s
					line := d.lines.at(sa.path...)
					if l0, dup := first[*s]; dup {
						d.errorf(sa, "declared twice (first at line %d); put all its keys in one [[sidecar]]", l0)
					} else {
						first[*s] = line
					}
				}
			}
		} else {
			d.errorf(sa, "has no name (add name = \"...\")")
		}
		for _, k := range d.keys(sa, t) {
			v, ka := t[k], sa.child(k)
			switch k {
			case "name":
			case "enabled":
				sf.Enabled = d.boolean(ka, v)
			case "binary":
				if s := d.str(ka, v); s != nil {
					if msg := checkBinary(*s); msg != "" {
						d.errorf(ka, "%s", msg)
					}
					sf.Binary = s
				}
			case "args":
				sf.Args = d.strings(ka, v)
			case "port":
				if n := d.integer(ka, v); n != nil {
					if msg := checkPort(*n); msg != "" {
						d.errorf(ka, "%s", msg)
					}
					sf.Port = n
				}
			case "host":
				if s := d.str(ka, v); s != nil {
					if msg := checkHost(*s); msg != "" {
						d.errorf(ka, "%s", msg)
					}
					sf.Host = s
				}
			case "env":
				sf.Env = d.env(ka, v)
			case "auto_start":
				sf.AutoStart = d.boolean(ka, v)
			case "depends_on":
				sf.DependsOn = d.strings(ka, v)
				for _, n := range sf.DependsOn {
					if msg := checkName(n); msg != "" {
						d.errorf(ka, "%s", msg)
					}
				}
			case "health":
				sf.Health = d.strings(ka, v)
				if sf.Health != nil && len(sf.Health) == 0 {
					d.errorf(ka, "needs at least one probe path (default %q)", DefaultHealth())
				}
				for _, p := range sf.Health {
					if msg := checkHealthPath(p); msg != "" {
						d.errorf(ka, "%s", msg)
					}
				}
			case "startup_timeout":
				sf.StartupTimeout = d.duration(ka, v)
				if sf.StartupTimeout != nil && sf.StartupTimeout.Duration <= 0 {
					d.errorf(ka, "must be greater than 0, got %s", sf.StartupTimeout)
				}
			case "stop_timeout":
				sf.StopTimeout = d.nonNegDuration(ka, v)
			case "restart":
				sf.Restart = d.restart(ka, v)
			case "liveness":
				sf.Liveness = d.liveness(ka, v)
			case "adopt":
				sf.Adopt = d.boolean(ka, v)
			default:
				d.unknown(sa, k, sidecarKeys)
			}
		}
		out = append(out, sf)
	}
	if len(out) == 0 {
		return nil // sidecar = [] is the same as no [[sidecar]]
	}
	return out
}

func (d *decoder) table(a at, v any) (map[string]any, bool) {
	t, ok := v.(map[string]any)
	if !ok {
		d.errorf(a, "must be a table, for example %s = { ... } or [sidecar.%s], got %s", a.key, a.key, typeName(v))
	}
	return t, ok
}

func (d *decoder) restart(a at, v any) *RestartFile {
	t, ok := d.table(a, v)
	if !ok {
		return nil
	}
	r := &RestartFile{}
	for _, k := range d.keys(a, t) {
		v, ka := t[k], a.child(k)
		switch k {
		case "policy":
			if s := d.str(ka, v); s != nil {
				if msg := checkPolicy(*s); msg != "" {
					d.errorf(ka, "%s", msg)
				}
				r.Policy = s
			}
		case "initial_backoff":
			r.InitialBackoff = d.nonNegDuration(ka, v)
		case "max_backoff":
			r.MaxBackoff = d.nonNegDuration(ka, v)
		case "multiplier":
			if f := d.float(ka, v); f != nil {
				if msg := checkMultiplier(*f); msg != "" {
					d.errorf(ka, "%s", msg)
				}
				r.Multiplier = f
			}
		case "jitter":
			if f := d.float(ka, v); f != nil {
				if msg := checkJitter(*f); msg != "" {
					d.errorf(ka, "%s", msg)
				}
				r.Jitter = f
			}
		case "max_retries":
			if n := d.integer(ka, v); n != nil {
				if msg := checkMaxRetries(*n); msg != "" {
					d.errorf(ka, "%s", msg)
				}
				r.MaxRetries = n
			}
		case "stable_after":
			r.StableAfter = d.nonNegDuration(ka, v)
		default:
			d.unknown(a, k, restartKeys)
		}
	}
	if r.InitialBackoff != nil && r.MaxBackoff != nil && r.MaxBackoff.Duration < r.InitialBackoff.Duration {
		d.errorf(a.child("max_backoff"), "%s is less than initial_backoff (%s)", r.MaxBackoff, r.InitialBackoff)
	}
	return r
}

func (d *decoder) liveness(a at, v any) *LivenessFile {
	t, ok := d.table(a, v)
	if !ok {
		return nil
	}
	l := &LivenessFile{}
	for _, k := range d.keys(a, t) {
		v, ka := t[k], a.child(k)
		switch k {
		case "period":
			l.Period = d.nonNegDuration(ka, v)
		case "timeout":
			l.Timeout = d.nonNegDuration(ka, v)
		case "failure_threshold":
			l.FailureThreshold = d.nonNegInt(ka, v)
		case "success_threshold":
			l.SuccessThreshold = d.nonNegInt(ka, v)
		case "disabled":
			l.Disabled = d.boolean(ka, v)
		default:
			d.unknown(a, k, livenessKeys)
		}
	}
	return l
}

// Typed readers: each returns nil (and records an error) on a wrong type.

func (d *decoder) str(a at, v any) *string {
	s, ok := v.(string)
	if !ok {
		d.errorf(a, "must be a string, got %s", describe(v))
		return nil
	}
	return &s
}

func (d *decoder) boolean(a at, v any) *bool {
	b, ok := v.(bool)
	if !ok {
		d.errorf(a, "must be true or false, got %s", describe(v))
		return nil
	}
	return &b
}

func (d *decoder) integer(a at, v any) *int {
	n, ok := v.(int64)
	if !ok {
		d.errorf(a, "must be an integer, got %s", describe(v))
		return nil
	}
	if n > math.MaxInt32 || n < math.MinInt32 {
		d.errorf(a, "%d is out of range", n)
		return nil
	}
	i := int(n)
	return &i
}

func (d *decoder) nonNegInt(a at, v any) *int {
	n := d.integer(a, v)
	if n != nil && *n < 0 {
		d.errorf(a, "must not be negative, got %d (0 means the default)", *n)
	}
	return n
}

func (d *decoder) float(a at, v any) *float64 {
	switch n := v.(type) {
	case float64:
		return &n
	case int64:
		f := float64(n)
		return &f
	}
	d.errorf(a, "must be a number, got %s", describe(v))
	return nil
}

func (d *decoder) duration(a at, v any) *Duration {
	s, ok := v.(string)
	if !ok {
		hint := ""
		if n, isInt := v.(int64); isInt {
			hint = fmt.Sprintf("; write a string with a unit, for example \"%ds\"", n)
		}
		d.errorf(a, "must be a duration string such as \"500ms\" or \"1m30s\", got %s%s", describe(v), hint)
		return nil
	}
	dur, err := parseDuration(s)
	if err != nil {
		d.errorf(a, "%v", err)
		return nil
	}
	return &Duration{dur}
}

func (d *decoder) nonNegDuration(a at, v any) *Duration {
	dur := d.duration(a, v)
	if dur != nil && dur.Duration < 0 {
		d.errorf(a, "must not be negative, got %s", dur)
	}
	return dur
}

func (d *decoder) strings(a at, v any) []string {
	arr, ok := v.([]any)
	if !ok {
		if s, isStr := v.(string); isStr {
			d.errorf(a, "must be an array of strings, for example [%q], got a single string", s)
		} else {
			d.errorf(a, "must be an array of strings, got %s", describe(v))
		}
		return nil
	}
	out := make([]string, 0, len(arr))
	for i, e := range arr {
		s, ok := e.(string)
		if !ok {
			d.errorf(a.child(elem(i)), "must be an array of strings; element %d is %s", i+1, describe(e))
			continue
		}
		out = append(out, s)
	}
	return out
}

// env reads a table of variables. Numbers and booleans are accepted and
// kept as their text (REDIS_PORT = 6379 is "6379").
func (d *decoder) env(a at, v any) map[string]string {
	t, ok := d.table(a, v)
	if !ok {
		return nil
	}
	out := make(map[string]string, len(t))
	for _, k := range d.keys(a, t) {
		ka := a.child(k)
		if msg := checkEnvKey(k); msg != "" {
			d.errorf(ka, "%s", msg)
			continue
		}
		switch x := t[k].(type) {
		case string:
			if strings.ContainsRune(x, 0) {
				d.errorf(ka, "value contains a NUL byte")
				continue
			}
			out[k] = x
		case int64:
			out[k] = strconv.FormatInt(x, 10)
		case float64:
			out[k] = strconv.FormatFloat(x, 'f', -1, 64)
		case bool:
			out[k] = strconv.FormatBool(x)
		default:
			d.errorf(ka, "must be a string, got %s", describe(x))
		}
	}
	return out
}

func typeName(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case time.Time:
		return "a date-time"
	case []map[string]any:
		return "an array of tables"
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprintf("a %T", v)
}

// describe names v's type and, for scalars, its value.
func describe(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("a string (%q)", x)
	case int64:
		return fmt.Sprintf("an integer (%d)", x)
	case float64:
		return fmt.Sprintf("a float (%g)", x)
	case bool:
		return fmt.Sprintf("a boolean (%t)", x)
	case time.Time:
		return "a date-time (" + x.String() + ")"
	}
	return typeName(v)
}
