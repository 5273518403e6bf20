package diagnostics

import (
	"bytes"
	"cmp"
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"outrigger/core/config"
)

// redactor masks secrets in the bytes of an entry, in two ways:
//
//   - by value: every value we know to be secret (the configuration's
//     secret environment values and the values of secret flags in args,
//     the app's own secret environment, which sidecars inherit, and
//     passwords in URLs) is replaced wherever it
//     appears, whatever a sidecar printed around it;
//   - by shape: "name=value", "name: value", "name = \"value\"" and
//     "\"name\":\"value\"" where config.Secret(name) holds, the password of
//     a URL's user info, and a bearer token, so a secret we were never
//     told about (a sidecar printing its own token) is masked too.
//
// Values shorter than minSecretLen are masked only by shape: replacing every
// "1" or "yes" in the logs (KEYBOARD_LAYOUT_SWITCH=1 matches KEY) would
// ruin the report and protect nothing.
type redactor struct {
	values *strings.Replacer // nil when there is no known secret
}

// newRedactor learns the secret values of cfg and environ. rawConfig is
// the configuration as encoded before masking: any key in it that
// config.Secret recognises gives a secret value, so a secret field added
// to the configuration later is found without a change here.
func newRedactor(cfg config.Config, rawConfig []byte, environ []string) *redactor {
	var secrets []string
	add := func(v string) {
		if len(v) < minSecretLen || v == config.Mask {
			return
		}
		secrets = append(secrets, v)
		// A secret holding a quote or a backslash appears escaped in the
		// app's JSON log and in slog's quoted text values; a mask of the
		// raw bytes alone would leave it there in clear.
		for _, q := range quotedForms(v) {
			if body := q[1 : len(q)-1]; body != v {
				secrets = append(secrets, body)
			}
		}
	}
	add(cfg.GatewayToken)
	for _, s := range cfg.Sidecars {
		_, inArgs := config.MaskArgs(s.Args)
		for _, v := range inArgs {
			add(v)
		}
		for k, v := range s.Env {
			if config.Secret(k) {
				add(v)
			}
		}
	}
	for _, m := range assignment.FindAllSubmatch(rawConfig, -1) {
		if config.Secret(string(m[1])) {
			add(string(slices.Concat(m[3], m[4], m[5])))
		}
	}
	for _, m := range userinfo.FindAllSubmatch(rawConfig, -1) {
		add(string(m[2]))
	}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && config.Secret(k) {
			add(v)
		}
	}
	if len(secrets) == 0 {
		return &redactor{}
	}
	// Longest first: the Replacer tries its pairs in order at each position,
	// so a secret that contains another is masked whole.
	slices.SortFunc(secrets, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	secrets = slices.Compact(secrets)
	pairs := make([]string, 0, 2*len(secrets))
	for _, s := range secrets {
		pairs = append(pairs, s, config.Mask)
	}
	return &redactor{values: strings.NewReplacer(pairs...)}
}

const minSecretLen = 4

// quotedForms are v as JSON (with and without encoding/json's HTML escapes;
// slog's JSON handler has none) and as a Go-quoted string (slog's text
// handler), each with its quotes.
func quotedForms(v string) []string {
	html, _ := json.Marshal(v)
	var plain bytes.Buffer
	enc := json.NewEncoder(&plain)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return []string{string(html), strings.TrimSuffix(plain.String(), "\n"), strconv.Quote(v)}
}

// assignment is a name followed by = or : and a value, with the quotes of
// TOML, JSON, shell and slog's text format. Groups: 1 name, 2 the
// separator with its quotes and spaces, 3 a double-quoted value's body,
// 4 a single-quoted value's body, 5 a bare value.
var assignment = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_.\-]*)("?\s*[=:]\s*)(?:"((?:[^"\\\n]|\\.)*)"|'([^'\n]*)'|([^\s"',;&}\]]+))`)

// userinfo is the password part of scheme://user:password@host.
var userinfo = regexp.MustCompile(`(://[^/\s:@]*:)([^@\s/]+)@`)

// bearer is an HTTP bearer credential (RFC 6750's b64token).
var bearer = regexp.MustCompile(`(?i)(\bbearer\s+)[A-Za-z0-9\-._~+/]+=*`)

func (r *redactor) redact(data []byte) []byte {
	if r.values != nil {
		data = []byte(r.values.Replace(string(data)))
	}
	data = maskAssignments(data)
	data = userinfo.ReplaceAll(data, []byte("${1}"+config.Mask+"@"))
	return bearer.ReplaceAll(data, []byte("${1}"+config.Mask))
}

// maskAssignments masks the values of secret-named assignments in data. The
// value of any other assignment is searched too: a JSON log line's "msg"
// may quote a sidecar's "password=…".
func maskAssignments(data []byte) []byte {
	return assignment.ReplaceAllFunc(data, func(m []byte) []byte {
		sub := assignment.FindSubmatchIndex(m)
		secret := config.Secret(string(m[sub[2]:sub[3]]))
		for g := 3; g <= 5; g++ {
			s, e := sub[2*g], sub[2*g+1]
			if s < 0 {
				continue
			}
			// Keep everything but the value's body, so quotes and layout stay.
			body := []byte(config.Mask)
			if !secret {
				body = maskAssignments(m[s:e])
			}
			return slices.Concat(m[:s], body, m[e:])
		}
		return m
	})
}
