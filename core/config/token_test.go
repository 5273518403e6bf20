package config

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const testToken = "tok_3f9a.Zq-81/x+y="

// gateway_token is read, written back and saved 0600 with its .bak; a bad
// one is refused with file, line and key, without quoting the token.
func TestGatewayToken(t *testing.T) {
	f := mustParse(t, "mode = \"connected\"\ngateway_url = \"https://gw.example\"\ngateway_token = \""+testToken+"\"\n")
	if f.GatewayToken == nil || *f.GatewayToken != testToken {
		t.Fatalf("parsed gateway_token = %v", f.GatewayToken)
	}
	if c := mustMerge(t, Defaults(), f); c.GatewayToken != testToken {
		t.Fatalf("merged GatewayToken = %q", c.GatewayToken)
	}

	bad := "Bearer " + testToken
	_, err := Parse("f.toml", []byte("gateway_token = \""+bad+"\"\n"))
	wantErr(t, err, "f.toml:1: gateway_token: must be printable ASCII without spaces (character 7 is not)")
	if strings.Contains(err.Error(), testToken) {
		t.Errorf("the error quotes the token: %v", err)
	}
	if err := CheckGatewayToken("caf\u00e9"); err == nil {
		t.Error("CheckGatewayToken accepted a non-ASCII token")
	}
	if err := CheckGatewayToken(testToken); err != nil {
		t.Errorf("CheckGatewayToken(%q) = %v", testToken, err)
	}

	p := filepath.Join(t.TempDir(), "outrigger.toml")
	if err := os.WriteFile(p, []byte("mode = \"standalone\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	st := openT(t, p)
	if err := st.Update(func(f *File) error { f.GatewayToken = Ptr(testToken); return nil }); err != nil {
		t.Fatal(err)
	}
	if got := openT(t, p).Config().GatewayToken; got != testToken {
		t.Errorf("reloaded GatewayToken = %q", got)
	}
	if runtime.GOOS != "windows" {
		for _, name := range []string{p, p + ".bak"} {
			fi, err := os.Stat(name)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("%s has mode %v, want 0600 (it holds a token)", name, fi.Mode().Perm())
			}
		}
	}
	// Clearing the field removes the key from the file.
	if err := st.Update(func(f *File) error { f.GatewayToken = nil; return nil }); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(p)
	if strings.Contains(string(data), "gateway_token") {
		t.Errorf("cleared token still in the file:\n%s", data)
	}
}
