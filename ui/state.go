package ui

import (
	"fmt"
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"

	"outrigger/core/supervisor"
)

// stateLook is how one state is shown: a theme colour, a word and an icon.
type stateLook struct {
	Color fyne.ThemeColorName
	Word  string
	Icon  fyne.Resource
}

// lookOf maps a sidecar state to its colour, word and icon. Calm colours
// for the normal path (green when ready, the primary blue while starting),
// amber for a sidecar that is trying to recover, red only when it gave up.
func lookOf(s supervisor.State) stateLook {
	switch s {
	case supervisor.Ready:
		return stateLook{theme.ColorNameSuccess, "Ready", theme.ConfirmIcon()}
	case supervisor.Starting:
		return stateLook{theme.ColorNamePrimary, "Starting", theme.MediaPlayIcon()}
	case supervisor.Unhealthy:
		return stateLook{theme.ColorNameWarning, "Unhealthy", theme.WarningIcon()}
	case supervisor.Backoff:
		return stateLook{theme.ColorNameWarning, "Restarting", theme.ViewRefreshIcon()}
	case supervisor.Stopping:
		return stateLook{theme.ColorNamePrimary, "Stopping", theme.MediaStopIcon()}
	case supervisor.Exited:
		return stateLook{theme.ColorNamePlaceHolder, "Exited", theme.MediaStopIcon()}
	case supervisor.Failed:
		return stateLook{theme.ColorNameError, "Failed", theme.ErrorIcon()}
	}
	return stateLook{theme.ColorNamePlaceHolder, "Stopped", theme.MediaStopIcon()}
}

// colorOf resolves a theme colour name in the current theme and variant.
func colorOf(n fyne.ThemeColorName) color.Color {
	return theme.Color(n)
}

// withAlpha returns c with its alpha scaled to a (0..255), for tinted
// backgrounds such as the state pill.
func withAlpha(c color.Color, a uint8) color.Color {
	r, g, b, _ := c.RGBA()
	return color.NRGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8), A: a}
}

// Overall is the app's overall health, computed from every sidecar's state:
// it drives the header, the tray icon and the window title.
type Overall int

const (
	OverallIdle     Overall = iota // nothing runs (Standalone, Connected, or all stopped)
	OverallReady                   // every sidecar that should run is Ready
	OverallStarting                // something is starting, stopping or restarting
	OverallFailed                  // at least one sidecar failed or is unhealthy
	OverallWarning                 // something that should run does not (a stopped auto-start sidecar, an unreachable gateway)
)

// overall summarises statuses into a level and a sentence. expect names
// the sidecars that should run even if nobody asked for them yet (the
// auto-start ones in Service mode): one of them stopped keeps the header
// from going green.
func overall(sts []supervisor.Status, expect map[string]bool) (Overall, string) {
	var ready, starting, failed, unhealthy, backoff, running, down int
	var failedName, downName string
	for _, s := range sts {
		if shouldRun(s, expect) && (s.State == supervisor.Stopped || s.State == supervisor.Exited) {
			down++
			if downName == "" {
				downName = s.Name
			}
		}
		switch s.State {
		case supervisor.Ready:
			ready++
			running++
		case supervisor.Starting, supervisor.Stopping:
			starting++
			running++
		case supervisor.Unhealthy:
			unhealthy++
			running++
			if failedName == "" {
				failedName = s.Name
			}
		case supervisor.Backoff:
			backoff++
		case supervisor.Failed:
			failed++
			if failedName == "" || unhealthy > 0 {
				failedName = s.Name
			}
		}
	}
	n := len(sts)
	switch {
	case failed == 1:
		return OverallFailed, failedName + " failed"
	case failed > 1:
		return OverallFailed, fmt.Sprintf("%d services failed", failed)
	case unhealthy > 0:
		return OverallFailed, failedName + " is not answering its health check"
	case backoff > 0:
		return OverallStarting, fmt.Sprintf("Recovering %d of %d", backoff, n)
	case starting > 0:
		return OverallStarting, fmt.Sprintf("Starting… %d of %d ready", ready, n)
	case down == 1:
		return OverallWarning, downName + " is not running"
	case down > 1:
		return OverallWarning, fmt.Sprintf("%d services are not running", down)
	case ready > 0 && ready == running:
		if ready == n {
			if n == 1 {
				return OverallReady, "Service ready"
			}
			return OverallReady, fmt.Sprintf("All %d services ready", n)
		}
		return OverallReady, fmt.Sprintf("%d of %d services ready", ready, n)
	}
	return OverallIdle, "No service running"
}

// shouldRun: the user wants it running, or it is expected to and the user
// did not stop it.
func shouldRun(s supervisor.Status, expect map[string]bool) bool {
	return s.Wanted || (expect[s.Name] && s.Reason != stoppedByUser)
}

// stoppedByUser is the supervisor's reason after a Stop.
const stoppedByUser = "stopped by user"

// overallLook maps the overall level to a colour and icon.
func overallLook(o Overall) stateLook {
	switch o {
	case OverallReady:
		return stateLook{theme.ColorNameSuccess, "Ready", theme.ConfirmIcon()}
	case OverallStarting:
		return stateLook{theme.ColorNamePrimary, "Starting", theme.ViewRefreshIcon()}
	case OverallFailed:
		return stateLook{theme.ColorNameError, "Attention", theme.ErrorIcon()}
	case OverallWarning:
		return stateLook{theme.ColorNameWarning, "Warning", theme.WarningIcon()}
	}
	return stateLook{theme.ColorNamePlaceHolder, "Idle", theme.InfoIcon()}
}

// buttonsFor says which of Start / Stop / Restart make sense in a state.
// Start on a Failed sidecar resets it (the supervisor forgets the crash
// history); in Backoff it starts at once instead of waiting.
func buttonsFor(s supervisor.State) (start, stop, restart bool) {
	switch s {
	case supervisor.Stopped, supervisor.Exited, supervisor.Failed:
		return true, false, false
	case supervisor.Backoff:
		return true, true, false
	case supervisor.Starting, supervisor.Ready, supervisor.Unhealthy:
		return false, true, true
	}
	return false, false, false // Stopping
}

// startLabel is the Start button's word for a state.
func startLabel(s supervisor.State) string {
	switch s {
	case supervisor.Failed:
		return "Reset & start"
	case supervisor.Backoff:
		return "Start now"
	}
	return "Start"
}
