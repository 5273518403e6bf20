package modes

import (
	"fmt"
	"slices"
	"time"

	"outrigger/core/supervisor"
)

// Level is how the app as a whole is doing, for the header's colour.
type Level string

// From best to worst; a summary of several parts takes the worst.
const (
	LevelIdle    Level = "idle"    // nothing needs to run (Standalone): grey
	LevelOK      Level = "ok"      // everything that should run is Ready, the gateway answers: green
	LevelBusy    Level = "busy"    // on its way: starting, stopping, restarting, switching, checking
	LevelWarning Level = "warning" // up, but something is wrong: failing liveness, a gateway that does not answer
	LevelError   Level = "error"   // something that should run does not: stopped, exited, failed
)

func (l Level) rank() int {
	switch l {
	case LevelOK:
		return 1
	case LevelBusy:
		return 2
	case LevelWarning:
		return 3
	case LevelError:
		return 4
	}
	return 0
}

// Summary is the app's overall state as the header shows it.
type Summary struct {
	Level   Level
	Text    string   // one short sentence: "2 of 2 services ready", "xgen-embedding is stopped"
	Details []string // one line per problem (a sidecar that is not Ready, the gateway), for a tooltip
	Ready   int      // wanted sidecars that are Ready
	Wanted  int      // sidecars that should run
}

// Overall sums up the sidecars that should run (wanted, as names) from
// their statuses: green (LevelOK) only when every one of them is Ready and
// passing its liveness probe; LevelIdle when none should run. Sidecars not
// in wanted do not count, whatever their state. It is a pure function.
func Overall(statuses []supervisor.Status, wanted []string) Summary {
	byName := make(map[string]supervisor.Status, len(statuses))
	for _, st := range statuses {
		byName[st.Name] = st
	}
	s := Summary{Level: LevelIdle, Wanted: len(wanted)}
	if len(wanted) == 0 {
		s.Text = "nothing needs to run"
		return s
	}
	s.Level = LevelOK
	for _, n := range wanted {
		st, ok := byName[n]
		level, detail := sidecarLevel(n, st, ok)
		if level == LevelOK {
			s.Ready++
			continue
		}
		s.Details = append(s.Details, detail)
		if level.rank() > s.Level.rank() {
			s.Level = level
		}
	}
	switch {
	case len(s.Details) == 1:
		s.Text = s.Details[0]
	case s.Wanted == 1 && s.Ready == 1:
		s.Text = "1 service ready"
	default:
		s.Text = fmt.Sprintf("%d of %d services ready", s.Ready, s.Wanted)
	}
	return s
}

// sidecarLevel is one wanted sidecar's part in the summary.
func sidecarLevel(name string, st supervisor.Status, known bool) (Level, string) {
	if !known {
		return LevelError, name + " is not configured"
	}
	why := st.Reason
	if why == "" {
		why = st.LastError
	}
	with := func(s string) string {
		if why != "" {
			return s + ": " + why
		}
		return s
	}
	switch st.State {
	case supervisor.Ready:
		if !st.HealthOK {
			return LevelWarning, name + " is not answering its health check"
		}
		return LevelOK, ""
	case supervisor.Starting:
		return LevelBusy, name + " is starting"
	case supervisor.Stopping:
		return LevelBusy, name + " is stopping"
	case supervisor.Backoff:
		return LevelBusy, with(name + " is restarting")
	case supervisor.Unhealthy:
		return LevelWarning, with(name + " is unhealthy")
	case supervisor.Exited:
		return LevelError, with(name + " exited")
	case supervisor.Failed:
		return LevelError, with(name + " failed")
	}
	return LevelError, name + " is stopped"
}

// GatewayHealth sums up Connected mode's gateway from its last check
// (Controller.Health): not checked yet is LevelBusy, not answering is
// LevelWarning — the mode stays, but nothing remote works. A pure function.
func GatewayHealth(url string, reachable bool, checked time.Time, err error) Summary {
	switch {
	case checked.IsZero():
		return Summary{Level: LevelBusy, Text: "checking gateway " + url}
	case reachable:
		return Summary{Level: LevelOK, Text: "gateway " + url + " answers"}
	}
	msg := (&GatewayError{URL: url, Err: err}).Error()
	return Summary{Level: LevelWarning, Text: msg, Details: []string{msg}}
}

// worst combines two summaries: the worse level and its text, every detail.
func worst(a, b Summary) Summary {
	out := a
	if b.Level.rank() > a.Level.rank() {
		out = b
	}
	out.Details = append(slices.Clone(a.Details), b.Details...)
	out.Ready, out.Wanted = a.Ready+b.Ready, a.Wanted+b.Wanted
	return out
}

// Wanted lists, in configuration order, the sidecars that should run now:
// in Service mode its sidecar, every auto-start sidecar and what they
// depend on; in every mode, the sidecars a user started (Status.Wanted).
func (c *Controller) Wanted() []string { return c.wanted(c.Current()) }

func (c *Controller) wanted(m Mode) []string {
	want := map[string]bool{}
	if m.Kind == Service {
		group, _ := c.sup.Closure(c.autoStart(deref(m.ServiceName)))
		for _, n := range group {
			want[n] = true
		}
	}
	var out []string
	for _, st := range c.sup.Snapshot() {
		if want[st.Name] || st.Wanted {
			out = append(out, st.Name)
		}
	}
	return out
}

// Summary is the header's state now: the sidecars that should run (see
// Wanted and Overall), in Connected mode the gateway (see GatewayHealth),
// and a transition in progress. Safe to call from any goroutine, for
// example on every event of Subscribe and of the supervisor.
func (c *Controller) Summary() Summary {
	c.mu.Lock()
	m, moving, r := c.mode, c.moving, c.reach
	c.mu.Unlock()
	s := Overall(c.sup.Snapshot(), c.wanted(m))
	if m.Kind == Connected {
		s = worst(GatewayHealth(deref(m.ServerURL), r.ok, r.checked, r.err), s)
	}
	if moving != nil && s.Level.rank() < LevelBusy.rank() {
		s.Level, s.Text = LevelBusy, "switching to "+moving.String()
	}
	return s
}
