package diagnostics

import (
	"os"
	"path/filepath"
	"testing"
)

// A sidecar whose name is another's plus "-..." (xgen and xgen-workflow;
// the app's outrigger.log and a sidecar outrigger-gpu) shares the folder:
// the other's log and backups are not this one's backups.
func TestTailLogIgnoresOtherLogsWithTheSamePrefix(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("xgen.log", "mine\n")
	write("xgen-workflow.log", "not mine: the current log of xgen-workflow\n")
	write("xgen-workflow-2026-01-02T00-00-00.000.log", "not mine: a backup of xgen-workflow\n")
	data, err := tailLog(filepath.Join(dir, "xgen.log"), 5)
	if err != nil {
		t.Fatal(err)
	}
	if want := "mine\n"; string(data) != want {
		t.Errorf("tailLog(xgen.log) = %q, want %q", data, want)
	}

	write("xgen-2026-01-01T00-00-00.000.log", "my backup\n")
	data, err = tailLog(filepath.Join(dir, "xgen.log"), 5)
	if err != nil {
		t.Fatal(err)
	}
	if want := "my backup\nmine\n"; string(data) != want {
		t.Errorf("with a backup: tailLog(xgen.log) = %q, want %q", data, want)
	}
}

// A log folder whose path holds a glob metacharacter ("[" in
// OUTRIGGER_HOME=/media/usb/Outrigger [portable]) still finds the backup.
func TestTailLogBackupInFolderWithBrackets(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "Outrigger [portable]")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "app-2026-01-01T00-00-00.000.log"), []byte("old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "app.log"), []byte("new\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	data, err := tailLog(filepath.Join(dir, "app.log"), 5)
	if err != nil {
		t.Fatal(err)
	}
	if want := "old\nnew\n"; string(data) != want {
		t.Errorf("tailLog = %q, want %q", data, want)
	}
}
