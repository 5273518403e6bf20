package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// File is the user's outrigger.toml as written, and its schema: the toml
// tags name the keys, the TOML library decodes and encodes it, and Merge
// matches its fields to Config's and Spec's by name. Every field is
// optional: nil means "not set", so the defaults apply.
type File struct {
	Mode            *string       `toml:"mode"`
	GatewayURL      *string       `toml:"gateway_url"`
	Service         *string       `toml:"service"`
	SequentialStart *bool         `toml:"sequential_start"`
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
	StartupTimeout *Duration         `toml:"startup_timeout"`
	StopTimeout    *Duration         `toml:"stop_timeout"`
	Restart        *RestartFile      `toml:"restart"`
	Liveness       *LivenessFile     `toml:"liveness"`
	Adopt          *bool             `toml:"adopt"`
}

// RestartFile is a sidecar's restart table. max_retries = 0 means the
// default (10), -1 unlimited.
type RestartFile struct {
	Policy         *string   `toml:"policy"`
	InitialBackoff *Duration `toml:"initial_backoff"`
	MaxBackoff     *Duration `toml:"max_backoff"`
	Multiplier     *float64  `toml:"multiplier"`
	Jitter         *float64  `toml:"jitter"`
	MaxRetries     *int      `toml:"max_retries"`
	StableAfter    *Duration `toml:"stable_after"`
}

// LivenessFile is a sidecar's liveness table. A 0 means the default; to
// turn liveness off use disabled = true.
type LivenessFile struct {
	Period           *Duration `toml:"period"`
	Timeout          *Duration `toml:"timeout"`
	FailureThreshold *int      `toml:"failure_threshold"`
	SuccessThreshold *int      `toml:"success_threshold"`
	Disabled         *bool     `toml:"disabled"`
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

// savedHeader opens every file Outrigger writes.
const savedHeader = "# Outrigger configuration; every key is optional.\n" +
	"# Saved by Outrigger: comments are not kept, the previous version is beside this file with \".bak\" added.\n\n"

// Marshal writes f as outrigger.toml text. Only the fields that are set
// are written; an empty list or table that is set is written empty, so
// Parse(Marshal(f)) gives f back.
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

// Parse reads outrigger.toml text. filename is only used in messages.
// Every problem is reported with filename, line and key, ordered by line:
// syntax, the limits, unknown keys, values of the wrong type, and what the
// validator list finds once the file is merged over Defaults().
func Parse(filename string, data []byte) (File, error) {
	_, f, err := load(filename, data)
	return f, err
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
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Defaults(), File{}, nil
	}
	if err != nil {
		return Defaults(), File{}, fmt.Errorf("config: %w", err)
	}
	return load(path, data)
}

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
	d := &decoder{file: file, lines: ln, md: &md}
	var f File
	d.table(top, reflect.ValueOf(&f).Elem(), at{})
	d.names(&f)
	schema := map[string]bool{}
	for _, e := range d.errs {
		schema[e.Sidecar+"\x00"+e.Key] = true
	}
	c, errs := merge(Defaults(), d.mergeable(f))
	for _, e := range errs {
		if !schema[e.Sidecar+"\x00"+e.Key] {
			d.place(e, f)
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
		return &Error{File: file, Msg: clip(err.Error())}
	}
	// The library counts a newline it stopped at as the next line
	// ("[[sidecar]" + "\n" is reported one line late); the byte offset
	// tells the line the problem is on.
	line := pe.Position.Line
	if st := pe.Position.Start; st >= 0 && st <= len(data) {
		if l := 1 + bytes.Count(data[:st], []byte("\n")); l == line-1 {
			line = l
		}
	}
	return &Error{File: file, Line: line, Key: clip(pe.LastKey), Msg: clip(pe.Message)}
}

// decoder decodes the library's tables into File one key at a time, so
// that every unknown key and wrong type is reported with its own line.
type decoder struct {
	file  string
	lines *lines
	md    *toml.MetaData
	errs  []*Error
	first map[string]int // sidecar name → its index, for place
}

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
	d.errs = append(d.errs, &Error{File: d.file, Line: d.lines.at(a.path...), Sidecar: a.sidecar, Key: a.key,
		Msg: fmt.Sprintf(format, args...)})
}

var durationType = reflect.TypeOf(Duration{})

// table decodes the TOML table t into the struct v, whose toml tags are
// the keys it knows.
func (d *decoder) table(t map[string]toml.Primitive, v reflect.Value, a at) {
	fields := map[string]reflect.Value{}
	var known []string
	for i := range v.NumField() {
		k := v.Type().Field(i).Tag.Get("toml")
		fields[k] = v.Field(i)
		known = append(known, k)
	}
	keys := make([]string, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y string) int {
		return cmp.Or(cmp.Compare(d.lines.at(a.child(x).path...), d.lines.at(a.child(y).path...)), strings.Compare(x, y))
	})
	for _, k := range keys {
		if f, ok := fields[k]; ok {
			d.value(t[k], f, a.child(k))
			continue
		}
		full := a.child(k).key
		if a.sidecar != "" {
			full = "sidecar." + full
		}
		msg := fmt.Sprintf("unknown key %q", clip(full))
		if s := suggest(k, known); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		} else {
			msg += " (known keys: " + strings.Join(known, ", ") + ")"
		}
		c := a.child(k)
		d.errs = append(d.errs, &Error{File: d.file, Line: d.lines.at(c.path...), Sidecar: a.sidecar, Key: clip(c.key), Msg: msg, keyInMsg: true})
	}
}

// value decodes one key into the field f, after checking the TOML type so
// that a wrong one is named in words.
func (d *decoder) value(p toml.Primitive, f reflect.Value, a at) {
	var raw any
	_ = d.md.PrimitiveDecode(p, &raw)
	t := f.Type()
	switch {
	case t == reflect.TypeOf([]SidecarFile(nil)):
		d.sidecars(p, raw, f, a)
		return
	case t.Kind() == reflect.Map: // env: numbers and booleans are kept as their text (REDIS_PORT = 6379)
		m, ok := raw.(map[string]any)
		if !ok {
			d.errorf(a, "must be a table, for example %s = { ... } or [sidecar.%s], got %s", a.key, a.key, describe(raw))
			return
		}
		env := make(map[string]string, len(m))
		for k, v := range m {
			switch v.(type) {
			case string, int64, float64, bool:
				env[k] = fmt.Sprint(v)
			default:
				d.errorf(a.child(k), "must be a string, got %s", describe(v))
			}
		}
		f.Set(reflect.ValueOf(env))
		return
	case t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct && t.Elem() != durationType:
		var sub map[string]toml.Primitive
		if _, ok := raw.(map[string]any); !ok || d.md.PrimitiveDecode(p, &sub) != nil {
			d.errorf(a, "must be a table, for example %s = { ... } or [sidecar.%s], got %s", a.key, a.key, describe(raw))
			return
		}
		v := reflect.New(t.Elem())
		d.table(sub, v.Elem(), a)
		f.Set(v)
		return
	}
	if msg := wrongType(t, raw); msg != "" {
		d.errorf(a, "%s", msg)
		return
	}
	v := reflect.New(t)
	if err := d.md.PrimitiveDecode(p, v.Interface()); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			err = errors.New(pe.Message)
		}
		d.errorf(a, "%s", clip(err.Error()))
		return
	}
	f.Set(v.Elem())
}

// wrongType says how raw does not fit the Go type t, or "".
func wrongType(t reflect.Type, raw any) string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	ok := false
	want := ""
	switch {
	case t == durationType:
		_, ok = raw.(string)
		want = `a duration string such as "500ms" or "1m30s"`
		if n, isInt := raw.(int64); isInt {
			return fmt.Sprintf("must be %s, got %s; write a string with a unit, for example \"%ds\"", want, describe(raw), n)
		}
	case t.Kind() == reflect.Slice:
		arr, isArr := raw.([]any)
		if s, isStr := raw.(string); isStr {
			return fmt.Sprintf("must be an array of strings, for example [%q], got a single string", clip(s))
		} else if !isArr {
			return "must be an array of strings, got " + describe(raw)
		}
		for i, e := range arr {
			if _, isStr := e.(string); !isStr {
				return fmt.Sprintf("must be an array of strings; element %d is %s", i+1, describe(e))
			}
		}
		return ""
	case t.Kind() == reflect.String:
		_, ok = raw.(string)
		want = "a string"
	case t.Kind() == reflect.Bool:
		_, ok = raw.(bool)
		want = "true or false"
	case t.Kind() == reflect.Int:
		_, ok = raw.(int64)
		want = "an integer"
	case t.Kind() == reflect.Float64:
		_, isInt := raw.(int64)
		_, isFloat := raw.(float64)
		ok, want = isInt || isFloat, "a number"
	}
	if ok {
		return ""
	}
	return fmt.Sprintf("must be %s, got %s", want, describe(raw))
}

// sidecars decodes the [[sidecar]] tables. Each is labelled by its name
// when it has a usable one, else "#N".
func (d *decoder) sidecars(p toml.Primitive, raw any, f reflect.Value, a at) {
	var tables []map[string]toml.Primitive
	if err := d.md.PrimitiveDecode(p, &tables); err != nil {
		if arr, ok := raw.([]any); ok {
			for i, e := range arr {
				if _, ok := e.(map[string]any); !ok {
					d.errorf(a.child(elem(i)), "each sidecar must be a table, got %s", describe(e))
				}
			}
			return
		}
		d.errorf(a, "must be an array of tables, written [[sidecar]] (one per sidecar), got %s", describe(raw))
		return
	}
	if len(tables) == 0 {
		return // sidecar = [] is the same as no [[sidecar]]
	}
	out := make([]SidecarFile, len(tables))
	for i, t := range tables {
		sa := at{path: []string{"sidecar", elem(i)}, sidecar: "#" + strconv.Itoa(i+1)}
		var name string
		if n, ok := t["name"]; ok && d.md.PrimitiveDecode(n, &name) == nil && checkName(name) == "" {
			sa.sidecar = name
		}
		d.table(t, reflect.ValueOf(&out[i]).Elem(), sa)
	}
	f.Set(reflect.ValueOf(out))
}

// names reports sidecars without a name and names declared twice.
func (d *decoder) names(f *File) {
	d.first = map[string]int{}
	for i, sf := range f.Sidecars {
		a := at{path: []string{"sidecar", elem(i)}, sidecar: "#" + strconv.Itoa(i+1)}
		switch j, dup := d.first[sf.Name]; {
		case sf.Name == "":
			d.errorf(a, "has no name (add name = \"...\")")
		case dup:
			a.sidecar = sf.Name
			d.errorf(a, "declared twice (first at line %d); put all its keys in one [[sidecar]]", d.lines.at("sidecar", elem(j)))
		default:
			d.first[sf.Name] = i
		}
	}
}

// mergeable is f without the entries names reported, so the merge does
// not report them again.
func (d *decoder) mergeable(f File) File {
	keep := f
	keep.Sidecars = nil
	for i, sf := range f.Sidecars {
		if j, ok := d.first[sf.Name]; ok && j == i {
			keep.Sidecars = append(keep.Sidecars, sf)
		}
	}
	return keep
}

// place sets e's file and, when the key is in the file, its line.
func (d *decoder) place(e *Error, f File) {
	e.File = d.file
	keyPath := strings.Split(e.Key, ".")
	if e.Key == "" {
		keyPath = nil
	}
	if e.Sidecar == "" {
		if len(keyPath) > 0 {
			e.Line = d.lines.at(keyPath...)
		}
		if e.Line == 0 { // e.g. gateway_url missing in connected mode
			e.Line = d.lines.at("mode")
		}
		if e.Line == 0 {
			e.Msg += " (a built-in default, not written in the file)"
		}
		return
	}
	idx, ok := d.first[e.Sidecar]
	if n, err := strconv.Atoi(strings.TrimPrefix(e.Sidecar, "#")); !ok && err == nil && n >= 1 {
		idx, ok = n-1, true
	}
	if ok {
		e.Line = d.lines.at(append([]string{"sidecar", elem(idx)}, keyPath...)...)
	}
	if e.Line == 0 {
		e.Msg += " (a built-in default, not written in the file)"
	}
}

// describe names v's type and, for scalars, its value (clipped).
func describe(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("a string (%q)", clip(x))
	case int64:
		return fmt.Sprintf("an integer (%d)", x)
	case float64:
		return fmt.Sprintf("a float (%g)", x)
	case bool:
		return fmt.Sprintf("a boolean (%t)", x)
	case time.Time:
		return "a date-time (" + x.String() + ")"
	case []map[string]any:
		return "an array of tables"
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprintf("a %T", v)
}
