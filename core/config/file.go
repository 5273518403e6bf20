package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"outrigger/core/suggest"
)

// File is the user's outrigger.toml as written, and its schema: the toml
// tags name the keys, the TOML library decodes and encodes it, and merge
// matches its fields to Config's and Spec's by name. Every field is
// optional: nil means "not set", so the defaults apply.
type File struct {
	Mode            *string       `toml:"mode"`
	GatewayURL      *string       `toml:"gateway_url"`
	GatewayToken    *string       `toml:"gateway_token"`
	Service         *string       `toml:"service"`
	SequentialStart *bool         `toml:"sequential_start"`
	API             *APIFile      `toml:"api"`
	Sidecars        []SidecarFile `toml:"sidecar"`
}

// SidecarFile is one [[sidecar]] table. A name matching a sidecar of the
// base configuration overrides only the fields set here (env merges key by
// key, lists replace); a new name adds a sidecar (port required);
// enabled = false removes one. A nil list is "not set"; an empty non-nil
// list is "set to empty".
type SidecarFile struct {
	Name           string            `toml:"name"`
	Enabled        *bool             `toml:"enabled"`
	Binary         *string           `toml:"binary"`
	Args           []string          `toml:"args"`
	Port           *int              `toml:"port"`
	Host           *string           `toml:"host"`
	Env            map[string]string `toml:"env"`
	AutoStart      *bool             `toml:"auto_start"`
	DependsOn      []string          `toml:"depends_on"`
	Health         []string          `toml:"health"`
	StartupTimeout *time.Duration    `toml:"startup_timeout"`
	StopTimeout    *time.Duration    `toml:"stop_timeout"`
	Restart        *RestartFile      `toml:"restart"`
	Liveness       *LivenessFile     `toml:"liveness"`
	Adopt          *bool             `toml:"adopt"`
}

// RestartFile is a sidecar's restart table. max_retries = 0 means the
// default (10), -1 unlimited.
type RestartFile struct {
	Policy         *string        `toml:"policy"`
	InitialBackoff *time.Duration `toml:"initial_backoff"`
	MaxBackoff     *time.Duration `toml:"max_backoff"`
	Multiplier     *float64       `toml:"multiplier"`
	Jitter         *float64       `toml:"jitter"`
	MaxRetries     *int           `toml:"max_retries"`
	StableAfter    *time.Duration `toml:"stable_after"`
}

// LivenessFile is a sidecar's liveness table. A 0 means the default; to
// turn liveness off use disabled = true.
type LivenessFile struct {
	Period           *time.Duration `toml:"period"`
	Timeout          *time.Duration `toml:"timeout"`
	FailureThreshold *int           `toml:"failure_threshold"`
	SuccessThreshold *int           `toml:"success_threshold"`
	Disabled         *bool          `toml:"disabled"`
}

// Ptr returns a pointer to v, for building a File: f.Mode = config.Ptr("standalone").
func Ptr[T any](v T) *T { return &v }

// SetSidecar replaces the [[sidecar]] entry with sc's name, or appends sc.
func (f *File) SetSidecar(sc SidecarFile) {
	if i := slices.IndexFunc(f.Sidecars, func(s SidecarFile) bool { return s.Name == sc.Name }); i >= 0 {
		f.Sidecars[i] = sc
	} else {
		f.Sidecars = append(f.Sidecars, sc)
	}
}

// Sidecar returns the [[sidecar]] entry named name, and whether there is one.
func (f File) Sidecar(name string) (SidecarFile, bool) {
	if i := slices.IndexFunc(f.Sidecars, func(s SidecarFile) bool { return s.Name == name }); i >= 0 {
		return f.Sidecars[i], true
	}
	return SidecarFile{}, false
}

// savedHeader opens every file Outrigger writes.
const savedHeader = "# Outrigger configuration; every key is optional.\n" +
	"# Saved by Outrigger: comments are not kept, the previous version is beside this file with \".bak\" added.\n\n"

// Marshal writes f as outrigger.toml text. Only the fields that are set
// are written; an empty list or table that is set is written empty, so
// loading Marshal(f) gives f back.
func Marshal(f File) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(savedHeader)
	enc := toml.NewEncoder(&b)
	enc.Indent = ""
	if err := enc.Encode(f); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return b.Bytes(), nil
}

// ReadFile reads and parses the file at path. A missing file is an empty
// File and no error.
func ReadFile(path string) (File, error) {
	_, f, err := Load(path)
	return f, err
}

// Load is Defaults() merged with the file at path (a missing file is no
// error: the defaults). On error the Config is Defaults(), so a caller may
// report the error and carry on, and the File is what could be decoded.
func Load(path string) (Config, File, error) {
	data, err := readFile(path)
	if err != nil {
		return Defaults(), File{}, fmt.Errorf("config: %w", err)
	}
	return load(path, data)
}

// load reads outrigger.toml text; file is only used in messages. Every
// problem is reported with file, line and key, ordered by line: syntax,
// the limits, unknown keys, values of the wrong type, and what the
// validator list finds once the file is merged over Defaults().
func load(file string, data []byte) (Config, File, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	ln, lerr := scan(file, data)
	if lerr != nil {
		return Defaults(), File{}, lerr
	}
	var top map[string]toml.Primitive
	md, err := toml.Decode(string(data), &top)
	if err != nil {
		return Defaults(), File{}, syntaxError(file, data, err)
	}
	d := &decoder{file: file, lines: ln, md: &md, first: map[string]int{}}
	var f File
	d.table(top, reflect.ValueOf(&f).Elem(), at{})
	schema := map[string]bool{}
	for _, e := range d.errs {
		schema[e.Sidecar+"\x00"+e.Key] = true
	}
	c, errs := merge(Defaults(), d.unique(f))
	for _, e := range errs {
		if !schema[e.Sidecar+"\x00"+clip(e.Key)] { // the decoder's keys are clipped
			d.place(e)
			e.Key = clip(e.Key) // after place, which looks the whole key up
			d.errs = append(d.errs, e)
		}
	}
	if len(d.errs) > 0 {
		return Defaults(), f, joinErrors(d.errs)
	}
	return c, f, nil
}

// syntaxError is the library's parse error with file and line.
func syntaxError(file string, data []byte, err error) error {
	var pe toml.ParseError
	if !errors.As(err, &pe) {
		return &Error{File: file, Msg: clipTo(err.Error(), maxLibMessage) + " (the TOML library gave no position)"}
	}
	// The library counts a newline it stopped at as the next line
	// ("[[sidecar]" + "\n" is reported one line late), and gives no line
	// for some escapes; the byte offset tells the line the problem is on.
	st := min(max(pe.Position.Start, 0), len(data))
	line := 1 + bytes.Count(data[:st], []byte("\n"))
	if pe.Position.Line > 0 && line != pe.Position.Line-1 {
		line = pe.Position.Line
	}
	msg := pe.Message
	if secretKey(pe.LastKey) { // "expected value but found "hunter" instead": never quote a secret
		msg = quoted.ReplaceAllString(msg, `"`+Mask+`"`)
	}
	return &Error{File: file, Line: line, Key: clip(pe.LastKey), Msg: clipTo(msg, maxLibMessage)}
}

// quoted is a quoted piece of a message of the TOML library.
var quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'`)

// secretKey reports whether the dotted key's last part names a secret
// (Secret: gateway_token, env.API_KEY), whose value a message must not
// quote: it is logged, and reaches the diagnostics report.
func secretKey(key string) bool {
	return Secret(key[strings.LastIndexByte(key, '.')+1:])
}

// decoder decodes the library's tables into File one key at a time, so
// that every unknown key and wrong type is reported with its own line.
type decoder struct {
	file  string
	lines lines
	md    *toml.MetaData
	errs  []*Error
	first map[string]int // sidecar name → its index, for place
}

// at is where a value is: its path for the line lookup ("sidecar", "#0",
// "restart", "policy"), the sidecar's label and the key relative to it.
type at struct {
	path         []string
	sidecar, key string
}

func (a at) child(k string) at {
	return at{append(slices.Clip(a.path), k), a.sidecar, strings.TrimPrefix(a.key+"."+k, ".")}
}

func (d *decoder) errorf(a at, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Line: d.lines.at(a.path...), Sidecar: a.sidecar, Key: clip(a.key),
		Msg: fmt.Sprintf(format, args...)})
}

// durationType is written in TOML as text ("500ms", "1m30s"); the
// library reads and writes it so.
var durationType = reflect.TypeOf(time.Duration(0))

// table decodes the TOML table t into the struct v, whose toml tags are
// the keys it knows.
func (d *decoder) table(t map[string]toml.Primitive, v reflect.Value, a at) {
	var known []string
	for i := range v.NumField() {
		known = append(known, v.Type().Field(i).Tag.Get("toml"))
	}
	for _, k := range slices.Sorted(maps.Keys(t)) { // joinErrors puts the problems in line order
		if i := slices.Index(known, k); i >= 0 {
			d.value(t[k], v.Field(i), a.child(k))
			continue
		}
		full := a.child(k).key
		if a.sidecar != "" {
			full = "sidecar." + full
		}
		msg := fmt.Sprintf("unknown key %q (known keys: %s)", clip(full), strings.Join(known, ", "))
		if s := suggest.Closest(k, known); s != "" {
			msg = fmt.Sprintf("unknown key %q (did you mean %q?)", clip(full), s)
		}
		d.errorf(a.child(k), "%s", msg)
		d.errs[len(d.errs)-1].keyInMsg = true
	}
}

// value decodes one key into the field f with the library, after checking
// the TOML type so that a wrong one is named in words.
func (d *decoder) value(p toml.Primitive, f reflect.Value, a at) {
	var raw any
	_ = d.md.PrimitiveDecode(p, &raw)
	t := f.Type()
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	table, isTable := raw.(map[string]any)
	switch {
	case t == reflect.TypeOf([]SidecarFile(nil)):
		d.sidecars(p, raw, f, a)
	case (t.Kind() == reflect.Struct || t.Kind() == reflect.Map) && !isTable:
		d.errorf(a, "must be a table, for example %s = { ... } or [sidecar.%s], got %s", a.key, a.key, describe(raw))
	case t.Kind() == reflect.Map: // env: numbers and booleans are kept as their text (REDIS_PORT = 6379)
		env := make(map[string]string, len(table))
		for k, v := range table {
			switch v.(type) {
			case string, int64, float64, bool:
			default:
				d.errorf(a.child(k), "must be a string, got %s", describeAs(v, Secret(k)))
			}
			env[k] = fmt.Sprint(v)
		}
		f.Set(reflect.ValueOf(env))
	case t.Kind() == reflect.Struct:
		var sub map[string]toml.Primitive
		_ = d.md.PrimitiveDecode(p, &sub)
		v := reflect.New(t)
		d.table(sub, v.Elem(), a)
		f.Set(v)
	case badValue(t, raw, secretKey(a.key)) != "":
		d.errorf(a, "%s", badValue(t, raw, secretKey(a.key)))
	default:
		v := reflect.New(f.Type())
		if err := d.md.PrimitiveDecode(p, v.Interface()); err != nil {
			d.errorf(a, "%s", clip(err.Error()))
		} else {
			f.Set(v.Elem())
		}
	}
}

// badValue says what is wrong when raw, as the library decoded it, is not
// a value of the field type t; "" when it is one. With secret, raw is not
// quoted, only its type named.
func badValue(t reflect.Type, raw any, secret bool) string {
	got := ", got " + describeAs(raw, secret)
	var ok bool
	switch {
	case t == durationType:
		switch v := raw.(type) {
		case string:
			_, err := time.ParseDuration(v)
			return msgIf(err != nil, `invalid duration %q (write a number with a unit: ms, s, m or h, for example "500ms" or "1m30s")`, clip(v))
		case int64:
			return fmt.Sprintf(`must be a duration string such as "500ms" or "1m30s"%s; write a string with a unit, for example "%ds"`, got, v)
		}
		return `must be a duration string such as "500ms" or "1m30s"` + got
	case t.Kind() == reflect.Slice:
		arr, isArr := raw.([]any)
		if s, isStr := raw.(string); isStr {
			return fmt.Sprintf("must be an array of strings, for example [%q], got a single string", clip(s))
		}
		for i, e := range arr {
			if _, ok := e.(string); !ok {
				return fmt.Sprintf("must be an array of strings; element %d is %s", i+1, describe(e))
			}
		}
		return msgIf(!isArr, "must be an array of strings%s", got)
	case t.Kind() == reflect.Float64:
		_, isInt := raw.(int64)
		_, ok = raw.(float64)
		return msgIf(!ok && !isInt, "must be a number%s", got)
	case t.Kind() == reflect.Int:
		_, ok = raw.(int64)
		return msgIf(!ok, "must be an integer%s", got)
	case t.Kind() == reflect.Bool:
		_, ok = raw.(bool)
		return msgIf(!ok, "must be true or false%s", got)
	}
	_, ok = raw.(string)
	return msgIf(!ok, "must be a string%s", got)
}

// sidecars decodes the [[sidecar]] tables. Each is labelled by its name
// when it has a usable one, else "#N". A table without a name, or with a
// name an earlier one has, is reported here and left out of the merge
// (see unique).
func (d *decoder) sidecars(p toml.Primitive, raw any, f reflect.Value, a at) {
	var tables []map[string]toml.Primitive
	if err := d.md.PrimitiveDecode(p, &tables); err != nil {
		arr, _ := raw.([]any)
		for i, e := range arr {
			if _, ok := e.(map[string]any); !ok {
				d.errorf(a.child(elem(i)), "each sidecar must be a table, got %s", describe(e))
			}
		}
		if arr == nil {
			d.errorf(a, "must be an array of tables, written [[sidecar]] (one per sidecar), got %s", describe(raw))
		}
		return
	}
	if len(tables) == 0 {
		return // sidecar = [] is the same as no [[sidecar]]
	}
	out := make([]SidecarFile, len(tables))
	for i, t := range tables {
		sa := at{[]string{"sidecar", elem(i)}, "#" + strconv.Itoa(i+1), ""}
		if n, ok := t["name"]; ok && d.md.PrimitiveDecode(n, &sa.sidecar) == nil && checkName(sa.sidecar) != "" {
			sa.sidecar = "#" + strconv.Itoa(i+1)
		}
		d.table(t, reflect.ValueOf(&out[i]).Elem(), sa)
		switch j, dup := d.first[out[i].Name]; {
		case out[i].Name == "":
			d.errorf(sa, "has no name (add name = \"...\")")
		case dup:
			sa.sidecar = out[i].Name
			d.errorf(sa, "declared twice (first at line %d); put all its keys in one [[sidecar]]", d.lines.at("sidecar", elem(j)))
		default:
			d.first[out[i].Name] = i
		}
	}
	f.Set(reflect.ValueOf(out))
}

// unique is f without the [[sidecar]] tables sidecars reported (no name,
// or a name used before), so that the merge does not report them again.
func (d *decoder) unique(f File) File {
	all := f.Sidecars
	f.Sidecars = nil
	for i, sf := range all {
		if j, ok := d.first[sf.Name]; ok && j == i {
			f.Sidecars = append(f.Sidecars, sf)
		}
	}
	return f
}

// place sets e's file and, when the key is in the file, its line.
func (d *decoder) place(e *Error) {
	e.File = d.file
	key := strings.Split(e.Key, ".")
	switch idx, inFile := d.first[e.Sidecar]; {
	case e.Sidecar == "": // a key the file does not set (gateway_url in connected mode) is the mode's doing
		e.Line = cmp.Or(d.lines.at(key...), d.lines.at("mode"))
	case inFile:
		e.Line = d.lines.at(append([]string{"sidecar", elem(idx)}, key...)...)
	}
	if e.Line == 0 {
		e.Msg += " (a built-in default, not written in the file)"
	}
}

// describeAs is describe, or for a secret only its type ("an integer",
// "a string"): the value must not reach the log.
func describeAs(v any, secret bool) string {
	d := describe(v)
	if secret {
		d, _, _ = strings.Cut(d, " (")
	}
	return d
}

// describe names v's type and, for scalars, its value (clipped).
func describe(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("a string (%q)", clip(x))
	case int64, float64, bool:
		return fmt.Sprintf("%s (%v)", map[string]string{"int64": "an integer", "float64": "a float", "bool": "a boolean"}[fmt.Sprintf("%T", v)], x)
	case time.Time:
		return "a date-time (" + x.String() + ")"
	case []map[string]any, []any:
		return "an array"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprintf("a %T", v)
}
