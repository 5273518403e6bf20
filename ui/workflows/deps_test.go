package workflows

import (
	"os/exec"
	"strings"
	"testing"
)

// The GUI talks to xgen-workflow through wfapi only: neither this panel nor
// the app's binary links the engine or its SQLite driver (issue 10).
func TestGUIDoesNotLinkTheEngine(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	for _, pkg := range []string{"outrigger/ui/workflows", "outrigger"} {
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		deps := strings.Fields(string(out))
		if len(deps) < 10 {
			t.Fatalf("go list -deps %s listed only %v", pkg, deps)
		}
		for _, d := range deps {
			if strings.HasPrefix(d, "modernc.org/sqlite") || d == "outrigger/internal/workflow" {
				t.Errorf("%s depends on %s", pkg, d)
			}
		}
	}
}
