// Package e2e holds Outrigger's end-to-end tests: the real app
// (bin/outrigger built from this module) with the real stand-in sidecars,
// under the current X display and D-Bus session. They only run with
// OUTRIGGER_E2E=1, normally through the test script:
//
//	OUTRIGGER_E2E=1 xvfb-run -a dbus-run-session -- go test -v ./e2e
//
// TestAppComesUpAndQuits leaves a picture of the window in
// e2e/testdata/e2e-screenshot.png.
package e2e
