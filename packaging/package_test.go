// Package packaging holds the installers' scripts; this test runs the
// Linux package test from `go test`. CI runs `make test-package` directly
// (scripts/test.sh), so here it is opt-in: it builds the release binary
// (minutes, the first time) and needs make, tar and xz.
//
//	OUTRIGGER_TEST_PACKAGE=1 go test -v ./packaging
package packaging

import (
	"os"
	"os/exec"
	"runtime"
	"testing"
)

func TestLinuxPackage(t *testing.T) {
	if os.Getenv("OUTRIGGER_TEST_PACKAGE") != "1" {
		t.Skip("set OUTRIGGER_TEST_PACKAGE=1 to build, install, run and uninstall the Linux package")
	}
	if runtime.GOOS != "linux" {
		t.Skip("the package test is for Linux")
	}
	cmd := exec.Command("make", "--no-print-directory", "test-package")
	cmd.Dir = ".."
	cmd.Stdout = t.Output()
	cmd.Stderr = t.Output()
	if err := cmd.Run(); err != nil {
		t.Fatalf("make test-package: %v", err)
	}
}
