package config

import (
	"reflect"
	"testing"
)

// FuzzParse: Parse never panics, and whatever it accepts survives
// Marshal → Parse unchanged (what the settings editor saves, it reads back).
func FuzzParse(f *testing.F) {
	f.Add(specExample)
	f.Add("mode = \"standalone\"\n[[sidecar]]\nname = \"a\"\nport = 1\nenv = { \"x y\" = \"\\u00e9\\n\" }\n")
	f.Add("sidecar = [{ name = \"a\", restart = { jitter = 0.5 } }]\n")
	f.Add("[[sidecar]]\nname = \"a\"\n[sidecar.liveness]\nperiod = \"1s\"\n[sidecar.env]\nK = 1\n")
	f.Fuzz(func(t *testing.T, src string) {
		file, err := Parse("f.toml", []byte(src))
		if err != nil {
			return
		}
		data, err := Marshal(file)
		if err != nil {
			return // e.g. invalid UTF-8 cannot be saved
		}
		back, err := Parse("f.toml", data)
		if err != nil {
			t.Fatalf("Marshal output does not parse: %v\n%s", err, data)
		}
		if !reflect.DeepEqual(file, back) {
			t.Fatalf("round trip differs\n%#v\n%#v\n%s", file, back, data)
		}
	})
}
