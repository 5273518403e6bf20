//go:build unix

package supervisor

import (
	"log/slog"
	"strings"
	"testing"

	"outrigger/internal/testutil"
)

// TestSidecarLinesReachTheConsoleOnlyWhenAsked: the app logger never gets a
// sidecar's lines (they are in the ring and the file); a Console does, once
// each, with the sidecar and stream attributes.
func TestSidecarLinesReachTheConsoleOnlyWhenAsked(t *testing.T) {
	for _, withConsole := range []bool{false, true} {
		var app, console testutil.Buffer
		opts := Options{Logger: slog.New(slog.NewTextHandler(&app, nil))}
		if withConsole {
			opts.Console = slog.New(slog.NewTextHandler(&console, nil))
		}
		h := newHarness(t, opts, fixtureSpec(t, "talker", "-stderr-line", "warning: on stderr"))
		h.start("talker")
		h.ready("talker")
		testutil.Eventually(t, wait, func() bool {
			for _, l := range h.sup.Logs("talker").Lines() {
				if strings.HasPrefix(l.Text, "fixture: listening on") {
					return true
				}
			}
			return false
		}, "the listening line in the ring")
		h.stop("talker")
		if strings.Contains(app.String(), "fixture: listening") || strings.Contains(app.String(), "warning: on stderr") {
			t.Errorf("console %v: the app logger got sidecar lines:\n%s", withConsole, app.String())
		}
		if !strings.Contains(app.String(), "msg=ready") {
			t.Errorf("console %v: the app logger lacks its own ready line:\n%s", withConsole, app.String())
		}
		out := console.String()
		if !withConsole {
			continue
		}
		if n := strings.Count(out, "fixture: listening on"); n != 1 ||
			!strings.Contains(out, `level=WARN msg="warning: on stderr" sidecar=talker stream=stderr`) {
			t.Errorf("console: listening line %d times, stderr line attributed: %v\n%s", n,
				strings.Contains(out, `level=WARN msg="warning: on stderr" sidecar=talker stream=stderr`), out)
		}
	}
}
