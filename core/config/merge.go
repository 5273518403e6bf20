package config

import (
	"cmp"
	"fmt"
	"maps"
	"reflect"
	"slices"
)

// merge applies the user's file to base (normally Defaults()) and
// validates the result:
//
//   - top-level keys that are set override base;
//   - a [[sidecar]] whose name is in base overrides only the fields it sets:
//     env merges key by key, lists (args, depends_on, health) replace, and
//     in restart / liveness only the keys written change;
//   - a new name adds a sidecar after base's, in file order; it needs a port
//     and takes every other default from DefaultSpec;
//   - enabled = false removes the sidecar (or skips a new one);
//   - restart.max_retries = 0 and liveness values of 0 mean the default, so
//     the result never holds those zeros.
//
// The decoder has taken out [[sidecar]] entries without a name or with a
// name already used (decoder.sidecars). merge does not know lines; load adds
// them.
func merge(base Config, f File) (Config, []*Error) {
	c := base.Clone()
	overlay(reflect.ValueOf(&c).Elem(), reflect.ValueOf(f))
	var errs []*Error
	disabled := map[string]bool{}
	index := map[string]int{} // a lookup per name keeps a file of many sidecars linear
	for i, s := range c.Sidecars {
		index[s.Name] = i
	}
	for _, sf := range f.Sidecars {
		if sf.Binary != nil && *sf.Binary == "" {
			errs = append(errs, &Error{Sidecar: sf.Name, Key: "binary", Msg: "must not be empty"})
		}
		if sf.Enabled != nil && !*sf.Enabled {
			disabled[sf.Name] = true
			continue
		}
		idx, ok := index[sf.Name]
		if !ok {
			if sf.Port == nil {
				errs = append(errs, &Error{Sidecar: sf.Name, Key: "port",
					Msg: fmt.Sprintf("missing: a new sidecar needs a port (only %s have built-in defaults)", base.names())})
				continue
			}
			c.Sidecars = append(c.Sidecars, DefaultSpec(sf.Name, *sf.Port))
			idx = len(c.Sidecars) - 1
			index[sf.Name] = idx
		}
		s := &c.Sidecars[idx]
		overlay(reflect.ValueOf(s).Elem(), reflect.ValueOf(sf))
		dr, dl := DefaultRestart(), DefaultLiveness()
		s.Restart.MaxRetries = cmp.Or(s.Restart.MaxRetries, dr.MaxRetries)
		s.Liveness.Period = cmp.Or(s.Liveness.Period, dl.Period)
		s.Liveness.Timeout = cmp.Or(s.Liveness.Timeout, dl.Timeout)
		s.Liveness.FailureThreshold = cmp.Or(s.Liveness.FailureThreshold, dl.FailureThreshold)
		s.Liveness.SuccessThreshold = cmp.Or(s.Liveness.SuccessThreshold, dl.SuccessThreshold)
	}
	c.Sidecars = slices.DeleteFunc(c.Sidecars, func(s Spec) bool { return disabled[s.Name] })
	errs = append(errs, c.validate(disabled)...)
	return c, errs
}

// overlay sets on dst (Config, Spec or one of its tables) every field that
// src (the file's struct of the same shape) sets, matching fields by name:
// values and lists replace, env merges key by key, tables recurse. Fields
// of src that are not pointers, lists or maps, or have no namesake in dst,
// are left to the caller (name, enabled, the sidecar list).
func overlay(dst, src reflect.Value) {
	for i := range src.NumField() {
		sv, dv := src.Field(i), dst.FieldByName(src.Type().Field(i).Name)
		switch k := sv.Kind(); {
		case !dv.IsValid() || (k != reflect.Pointer && k != reflect.Slice && k != reflect.Map) || sv.IsNil():
		case dv.Kind() == reflect.Slice && dv.Type().Elem() == reflect.TypeOf(Spec{}):
		case k == reflect.Map:
			m := reflect.MakeMap(dv.Type())
			for _, from := range []reflect.Value{dv, sv} {
				for it := from.MapRange(); it.Next(); {
					m.SetMapIndex(it.Key(), it.Value())
				}
			}
			dv.Set(m)
		case k == reflect.Slice:
			dv.Set(reflect.AppendSlice(reflect.MakeSlice(sv.Type(), 0, sv.Len()), sv))
		case sv.Elem().Kind() == reflect.Struct:
			overlay(dv, sv.Elem())
		default:
			dv.Set(sv.Elem())
		}
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
	s.Binary, defaults.Binary = s.BinaryName(), defaults.BinaryName()
	diff(reflect.ValueOf(&sf).Elem(), reflect.ValueOf(s), reflect.ValueOf(defaults))
	return sf
}

// diff is overlay's inverse: it sets each field of dst (a file struct)
// whose namesake differs between s and def, and reports whether it set any.
func diff(dst, s, def reflect.Value) bool {
	set := false
	for i := range dst.NumField() {
		f := dst.Field(i)
		name := dst.Type().Field(i).Name
		sv, dv := s.FieldByName(name), def.FieldByName(name)
		if !sv.IsValid() || f.Kind() == reflect.String || f.Kind() == reflect.Slice && sv.Len() == 0 && dv.Len() == 0 ||
			reflect.DeepEqual(sv.Interface(), dv.Interface()) {
			continue
		}
		switch {
		case f.Kind() == reflect.Map: // env: the entries defaults lack or hold otherwise
			env, def := maps.Clone(sv.Interface().(map[string]string)), dv.Interface().(map[string]string)
			maps.DeleteFunc(env, func(k, v string) bool { d, ok := def[k]; return ok && d == v })
			if len(env) == 0 {
				continue
			}
			f.Set(reflect.ValueOf(env))
		case f.Kind() == reflect.Slice:
			f.Set(reflect.AppendSlice(reflect.MakeSlice(f.Type(), 0, sv.Len()), sv))
		case f.Type().Elem().Kind() == reflect.Struct:
			v := reflect.New(f.Type().Elem())
			if !diff(v.Elem(), sv, dv) {
				continue
			}
			f.Set(v)
		default:
			v := reflect.New(f.Type().Elem())
			v.Elem().Set(sv)
			f.Set(v)
		}
		set = true
	}
	return set
}
