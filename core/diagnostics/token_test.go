package diagnostics

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"outrigger/core/config"
	"outrigger/internal/testutil"
)

// The gateway token is masked in the report wherever it appears: the
// config entry, and a bare mention in the app log that has no name=value
// or Bearer shape around it (only masking by value catches that). Its
// characters are outside a bearer regex's alphabet on purpose.
func TestReportMasksGatewayToken(t *testing.T) {
	const tok = "gw!tok#2c4e@ff"
	appLog := filepath.Join(t.TempDir(), "outrigger.log")
	line := `{"level":"WARN","msg":"a sidecar echoed gw!tok#2c4e@ff back"}` + "\n"
	if err := os.WriteFile(appLog, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := config.Defaults()
	cfg.Mode, cfg.GatewayURL, cfg.GatewayToken = config.ModeConnected, "https://gw.example", tok
	var buf bytes.Buffer
	if err := Write(&buf, Options{Config: cfg, AppLog: appLog, Environ: []string{}}); err != nil {
		t.Fatal(err)
	}
	entries := testutil.Unzip(t, buf.Bytes())
	for name, data := range entries {
		if bytes.Contains(data, []byte(tok)) {
			t.Errorf("%s holds the gateway token:\n%s", name, data)
		}
	}
	if c := string(entries[EntryConfig]); !strings.Contains(c, "GatewayToken = \""+config.Mask+"\"") {
		t.Errorf("config entry does not show the token masked:\n%s", c)
	}
	if l := string(entries[EntryAppLog]); !strings.Contains(l, "echoed "+config.Mask+" back") {
		t.Errorf("app log entry = %q", l)
	}
}
