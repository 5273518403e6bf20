package modes

import (
	"testing"
	"time"

	"outrigger/core/config"
)

// Switching the service to another sidecar while the mode is degraded
// ends the degraded spell with a Restored. Before, the switch cleared the
// controller's degraded flag without a word: subscribers never heard the
// spell end, and the window kept showing "service (b at …) · degraded: a:
// …" for good (nothing else would end it).
func TestSwitchingServiceWhileDegradedEndsTheSpell(t *testing.T) {
	a := fixtureSpec(t, "a", "-start-delay=3s")
	a.Restart = config.RestartSpec{Policy: config.PolicyOnFailure, InitialBackoff: 50 * time.Millisecond,
		MaxBackoff: time.Second, Multiplier: 2, MaxRetries: 5, StableAfter: time.Hour}
	b := fixtureSpec(t, "b")
	b.AutoStart = false
	r := newRig(t, rigOpts{}, a, b)
	r.ok(r.c.EnableService("a", nil))
	r.wantService("a")

	mark := r.mark()
	post(t, r.status("a").URL+"/crash")
	r.rec.waitKinds(t, mark, Degraded) // a is restarting (3 s start delay)

	mark = r.mark()
	r.ok(r.c.EnableService("b", nil))
	r.wantService("b")
	r.rec.waitKinds(t, mark, Restored)
}
