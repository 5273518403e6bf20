package config

import (
	"strings"
	"testing"
)

func TestAPISection(t *testing.T) {
	src := "mode = \"standalone\"\n[api]\nlisten = \"127.0.0.1:7777\"\nallowed_origins = [\"http://localhost:5173\"]\nallow_remote = false\n"
	f, err := Parse("o.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Merge(Defaults(), f)
	if err != nil {
		t.Fatal(err)
	}
	if c.API.Listen != "127.0.0.1:7777" || len(c.API.AllowedOrigins) != 1 || c.API.AllowRemote {
		t.Fatalf("API = %+v", c.API)
	}
	if Defaults().API.Listen != "" {
		t.Error("the TCP listener is on by default")
	}
	// Saving (as a mode switch does) keeps the section.
	data, err := Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse("o.toml", data)
	if err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	if back.API == nil || *back.API.Listen != "127.0.0.1:7777" || back.API.AllowedOrigins[0] != "http://localhost:5173" {
		t.Fatalf("round trip lost [api]:\n%s", data)
	}
}

func TestAPISectionErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"[api]\nlisten = \"7777\"\n", `o.toml:2: api.listen: must be host:port`},
		{"[api]\nlisten = \":7777\"\n", `o.toml:2: api.listen: needs a host`},
		{"[api]\nlisten = \"127.0.0.1:99999\"\n", `o.toml:2: api.listen: port must be 1..65535`},
		{"[api]\nallowed_origins = [\"localhost:5173\"]\n", `o.toml:2: api.allowed_origins: must be an origin`},
		{"[api]\nlisten = \"127.0.0.1:1\"\nalow_remote = true\n", `o.toml:3: unknown key "api.alow_remote" (did you mean "allow_remote"?)`},
		{"api = 3\n", `o.toml:1: api: must be a table`},
	} {
		_, err := Parse("o.toml", []byte(tc.src))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.src, err, tc.want)
		}
	}
}

// Issue 17.9: a 5 MB bad mode value was copied whole into the log. Values
// are quoted clipped, and the file's size limit refuses it before parsing;
// a value just under the limit is clipped in the message.
func TestHugeValueIsClippedInTheError(t *testing.T) {
	for _, n := range []int{5 << 20, 900 << 10} {
		_, err := Parse("o.toml", []byte("mode = \""+strings.Repeat("x", n)+"\"\n"))
		if err == nil || !strings.HasPrefix(err.Error(), "o.toml") {
			t.Fatalf("%d-byte mode: error %.200v", n, err)
		}
		if l := len(err.Error()); l > 1024 {
			t.Fatalf("a %d-byte error for one %d-byte value", l, n)
		}
	}
}

// An env variable name is text from the user's file too: a bad one of
// 900 KB must not make a 1.8 MB error (it names the key twice) that goes
// to the log whole.
func TestHugeEnvKeyIsClippedInTheError(t *testing.T) {
	key := strings.Repeat("K", 900<<10) + "=X"
	_, err := Parse("o.toml", []byte("[[sidecar]]\nname = \"a\"\nport = 9\n[sidecar.env]\n\""+key+"\" = \"v\"\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "o.toml:5: sidecar \"a\": env.KKK") {
		t.Fatalf("error %.200v", err)
	}
	if l := len(err.Error()); l > 1024 {
		t.Fatalf("a %d-byte error for one %d-byte variable name", l, len(key))
	}
}
