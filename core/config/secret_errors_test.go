package config

import (
	"slices"
	"strings"
	"testing"
)

// A secret written wrongly (a token or password left unquoted, a numeric
// token) is an error whose message is logged (main's "configuration is
// invalid") and so reaches the app log and the diagnostics report, where
// the file it came from has been set aside and nothing knows the value to
// mask. The message must name the file, line and key but not the value.
func TestErrorsDoNotQuoteSecretValues(t *testing.T) {
	for _, tc := range []struct {
		src, secret, where string
	}{
		{"gateway_token = 1234567890\n", "1234567890", "f.toml:1: gateway_token: "},
		{"gateway_token = correcthorsebatterystaple\n", "correcthorsebatterystaple", "f.toml:1: gateway_token: "},
		{"[[sidecar]]\nname = \"a\"\nport = 9\n[sidecar.env]\nPOSTGRES_PASSWORD = hunterhunter\n", "hunterhunter", "f.toml:5: "},
		{"[[sidecar]]\nname = \"a\"\nport = 9\nenv = { API_KEY = swordfishswordfish }\n", "swordfishswordfish", "f.toml:4: "},
		{"[[sidecar]]\nname = \"a\"\nport = 9\n[sidecar.env]\nAPI_KEY = 1979-05-27T07:32:00Z\n", "1979-05-27", "f.toml:5: sidecar \"a\": env.API_KEY: "},
	} {
		_, _, err := load("f.toml", []byte(tc.src))
		if err == nil {
			t.Errorf("%q loads", tc.src)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, tc.secret) || !strings.HasPrefix(msg, tc.where) {
			t.Errorf("%q: error %q quotes the secret or does not start with %q", tc.src, msg, tc.where)
		}
	}
	// Other keys still quote what was found: it helps to fix the file.
	if _, _, err := load("f.toml", []byte("mode = standalone\n")); err == nil || !strings.Contains(err.Error(), `"standalone"`) {
		t.Errorf("mode = standalone: %v, want the value quoted", err)
	}
}

func TestMaskArgs(t *testing.T) {
	m := Mask
	for _, c := range []struct {
		in, want, secrets []string
	}{
		{[]string{"--api-key", "sk-123", "--port", "8001"}, []string{"--api-key", m, "--port", "8001"}, []string{"sk-123"}},
		{[]string{"-token=abc", "--PASSWORD=p=w"}, []string{"-token=" + m, "--PASSWORD=" + m}, []string{"abc", "p=w"}},
		{[]string{"--token", "--verbose", "--secret"}, []string{"--token", "--verbose", "--secret"}, nil},
		{[]string{"serve", "key", "--token="}, []string{"serve", "key", "--token="}, nil},
	} {
		got, secrets := MaskArgs(c.in)
		if !slices.Equal(got, c.want) || !slices.Equal(secrets, c.secrets) {
			t.Errorf("MaskArgs(%q) = %q, %q; want %q, %q", c.in, got, secrets, c.want, c.secrets)
		}
	}
	in := []string{"--token", "x"}
	if MaskArgs(in); in[1] != "x" {
		t.Error("MaskArgs changed its argument")
	}
}
