package supervisor

import "time"

// RestartPolicy decides what happens after a sidecar's process ends on its
// own. The supervisor is the mechanism (it arms the timer and starts the
// process again); the policy — core/watchdog's — is a pure decision with an
// injected clock. One policy value belongs to one sidecar and is only ever
// called from that sidecar's goroutine.
type RestartPolicy interface {
	// Ready is called each time the sidecar becomes Ready.
	Ready(now time.Time)
	// Exited is called when the process ended without being asked to
	// (crash, liveness failure, failed start).
	Exited(info ExitInfo, now time.Time) Decision
	// Reset forgets the failure history (a manual Start).
	Reset()
}

// ExitInfo describes an unrequested end.
type ExitInfo struct {
	Exit     Exit
	WasReady bool   // it had become Ready during this run
	Cause    string // e.g. "liveness failed" when the supervisor ended it
}

// Decision is the policy's answer.
type Decision struct {
	Restart bool
	Delay   time.Duration
	Attempt int    // consecutive failures so far, including this one
	GiveUp  bool   // crash loop: go Failed until a manual Start
	Reason  string // human words: what happened and what comes next
}
