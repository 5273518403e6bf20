package config

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Marshal writes f as outrigger.toml text, in the layout of the SPEC's
// example: top-level keys, then one [[sidecar]] table per entry with env,
// restart and liveness as inline tables. Only the fields that are set are
// written; an empty list that is set is written as [] and an empty table
// as {}, so Parse(Marshal(f)) gives f back.
func Marshal(f File) ([]byte, error) {
	var w writer
	w.line("# Outrigger configuration; every key is optional.")
	w.line("# Saved by Outrigger: comments are not kept, the previous version is beside this file with \".bak\" added.")
	w.str("mode", f.Mode)
	w.str("gateway_url", f.GatewayURL)
	w.str("service", f.Service)
	w.boolean("sequential_start", f.SequentialStart)
	for _, s := range f.Sidecars {
		w.line("")
		w.line("[[sidecar]]")
		w.str("name", &s.Name)
		w.boolean("enabled", s.Enabled)
		w.str("binary", s.Binary)
		w.list("args", s.Args)
		w.integer("port", s.Port)
		w.str("host", s.Host)
		w.boolean("auto_start", s.AutoStart)
		w.list("depends_on", s.DependsOn)
		w.list("health", s.Health)
		w.duration("startup_timeout", s.StartupTimeout)
		w.duration("stop_timeout", s.StopTimeout)
		w.boolean("adopt", s.Adopt)
		if s.Env != nil {
			var kv []string
			for _, k := range sortedKeys(s.Env) {
				kv = append(kv, key(k)+" = "+w.quote(s.Env[k]))
			}
			w.inline("env", kv)
		}
		if r := s.Restart; r != nil {
			var t writer
			t.str("policy", r.Policy)
			t.duration("initial_backoff", r.InitialBackoff)
			t.duration("max_backoff", r.MaxBackoff)
			t.float("multiplier", r.Multiplier)
			t.float("jitter", r.Jitter)
			t.integer("max_retries", r.MaxRetries)
			t.duration("stable_after", r.StableAfter)
			w.inline("restart", t.pairs())
			w.err = joinErr(w.err, t.err)
		}
		if l := s.Liveness; l != nil {
			var t writer
			t.duration("period", l.Period)
			t.duration("timeout", l.Timeout)
			t.integer("failure_threshold", l.FailureThreshold)
			t.integer("success_threshold", l.SuccessThreshold)
			t.boolean("disabled", l.Disabled)
			w.inline("liveness", t.pairs())
			w.err = joinErr(w.err, t.err)
		}
	}
	if w.err != nil {
		return nil, w.err
	}
	return w.b.Bytes(), nil
}

type writer struct {
	b   bytes.Buffer
	err error
}

func joinErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func (w *writer) line(s string) { w.b.WriteString(s + "\n") }

func (w *writer) kv(k, v string) { w.line(key(k) + " = " + v) }

// pairs returns the written "k = v" lines, for an inline table.
func (w *writer) pairs() []string {
	s := strings.TrimSuffix(w.b.String(), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func (w *writer) inline(k string, pairs []string) {
	if len(pairs) == 0 {
		w.kv(k, "{}")
		return
	}
	w.kv(k, "{ "+strings.Join(pairs, ", ")+" }")
}

func (w *writer) str(k string, v *string) {
	if v != nil {
		w.kv(k, w.quote(*v))
	}
}

func (w *writer) boolean(k string, v *bool) {
	if v != nil {
		w.kv(k, strconv.FormatBool(*v))
	}
}

func (w *writer) integer(k string, v *int) {
	if v != nil {
		w.kv(k, strconv.Itoa(*v))
	}
}

func (w *writer) float(k string, v *float64) {
	if v == nil {
		return
	}
	f := *v
	var s string
	switch {
	case math.IsNaN(f):
		s = "nan"
	case math.IsInf(f, 1):
		s = "inf"
	case math.IsInf(f, -1):
		s = "-inf"
	default:
		s = strconv.FormatFloat(f, 'g', -1, 64)
		if !strings.ContainsAny(s, ".eEn") {
			s += ".0"
		}
	}
	w.kv(k, s)
}

func (w *writer) duration(k string, v *Duration) {
	if v != nil {
		w.kv(k, w.quote(v.String()))
	}
}

func (w *writer) list(k string, v []string) {
	if v == nil {
		return
	}
	q := make([]string, len(v))
	for i, s := range v {
		q[i] = w.quote(s)
	}
	w.kv(k, "["+strings.Join(q, ", ")+"]")
}

// quote writes s as a TOML basic string.
func (w *writer) quote(s string) string {
	if !utf8.ValidString(s) {
		w.err = joinErr(w.err, fmt.Errorf("config: cannot save %q: not valid UTF-8", s))
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\f':
			b.WriteString(`\f`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if r < 0x20 || r == 0x7f {
				fmt.Fprintf(&b, `\u%04X`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// key writes k bare when it can, else quoted.
func key(k string) string {
	if k != "" {
		bare := true
		for i := 0; i < len(k); i++ {
			if !isBare(k[i]) {
				bare = false
				break
			}
		}
		if bare {
			return k
		}
	}
	var w writer
	return w.quote(k)
}
