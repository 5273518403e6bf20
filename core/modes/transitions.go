package modes

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"outrigger/core/config"
	"outrigger/core/supervisor"
)

// margin is added to the deadlines computed from the specs' own timeouts:
// the supervisor enforces those, the controller's deadline is a safety net.
const margin = 10 * time.Second

// execute runs one transition on Run's goroutine.
func (c *Controller) execute(ctx context.Context, j *job) {
	t, target := j.t, j.target
	if err := j.ctx.Err(); err != nil {
		t.finish(err) // Apply's caller gave up before its turn
		return
	}
	tctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(j.ctx, cancel)
	defer func() {
		stop()
		cancel()
	}()

	verb := "switching to "
	if j.apply {
		verb = "bringing up "
	}
	c.log.Info("mode: " + verb + target.String())
	c.mu.Lock()
	c.moving = &target
	c.emitLocked(Event{Kind: Transitioning, Target: &target, Message: verb + target.String()})
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.moving = nil
		c.mu.Unlock()
	}()

	var switched bool
	var err error
	if verr := target.validate(); verr != nil {
		err = verr
	} else if target.Kind == Service {
		switched, err = c.toService(tctx, j)
	} else {
		switched, err = c.toLocalFree(tctx, j)
	}
	if !switched && ctx.Err() != nil {
		err = fmt.Errorf("%w: %v", ErrStopped, err)
	}
	if !switched && ctx.Err() == nil && j.ctx.Err() == nil {
		cur := c.Current()
		if j.apply || (cur.Kind == Service && !c.active) {
			// There is no established mode to go back to (launch, or a
			// Service mode that never came up): Standalone it is, but the
			// settings keep the user's choice so the next launch tries again.
			c.fallBack(fmt.Sprintf("could not bring up %s: %v", target, err), false)
		} else {
			c.log.Warn("mode: transition failed; the mode stays "+cur.String(), "target", target.String(), "err", err)
			c.failed(target, err)
		}
	} else if !switched {
		c.failed(target, err)
	}
	t.finish(err)
}

// failed announces a transition that left the mode as it was.
func (c *Controller) failed(target Mode, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.moving = nil
	c.emitLocked(Event{Kind: TransitionFailed, Target: &target, Message: err.Error(), Err: err})
}

// toService starts the sidecar (or, for Apply, every auto-start sidecar)
// with its dependencies and switches once it is Ready. On failure it undoes
// what it did.
func (c *Controller) toService(ctx context.Context, j *job) (bool, error) {
	name := deref(j.target.ServiceName)
	spec, ok := c.sup.Spec(name)
	if !ok {
		return false, fmt.Errorf("service mode: no sidecar named %q (known: %s)", name, strings.Join(c.sup.Names(), ", "))
	}
	prev := c.Current()
	established := prev.Kind == Service && c.active
	want := []string{name}
	if j.apply || !established {
		// Entering Service mode (at launch, or from Standalone or
		// Connected) brings up what Service mode runs: every auto-start
		// sidecar, not only the one behind the mode. Switching the service
		// sidecar within Service mode leaves the others as the user set them.
		want = c.autoStart(name)
	}
	group, err := c.sup.Closure(want)
	if err != nil {
		return false, fmt.Errorf("service mode: %w", err)
	}
	before := c.runningSet()
	keep := map[string]bool{} // what the previous, established Service mode needs
	if established {
		prevGroup, _ := c.sup.Closure([]string{deref(prev.ServiceName)})
		for _, n := range prevGroup {
			keep[n] = true
		}
	}

	var restore *specChange
	var restarted bool
	var startErr error
	budget := c.startBudget(group)
	if len(j.env) > 0 {
		ns := spec.Clone()
		ns.Env = maps.Clone(spec.Env)
		if ns.Env == nil {
			ns.Env = map[string]string{}
		}
		maps.Copy(ns.Env, j.env)
		if !maps.Equal(ns.Env, spec.Env) {
			if err := c.sup.UpdateSpec(ctx, ns); err != nil {
				return false, fmt.Errorf("service mode: set the environment of %s: %w", name, err)
			}
			restore = &specChange{was: spec, set: ns}
			if st, _ := c.sup.Status(name); st.State.HasProcess() {
				c.progress(j.t, "restarting "+name+" with the new environment")
				restarted = true
				budget += stopTime(spec)
				startErr = c.sup.Restart(ctx, name)
			}
		}
	}

	sctx, cancel := context.WithTimeout(ctx, budget)
	endWatch := c.watchProgress(j.t, group)
	if startErr == nil {
		startErr = c.sup.StartGroup(sctx, want)
	}
	timedOut := errors.Is(sctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil
	cancel()
	endWatch()

	st, _ := c.sup.Status(name)
	if st.State == supervisor.Ready && ctx.Err() == nil {
		var warn error
		if startErr != nil {
			// Apply: another auto-start sidecar did not come up. Service
			// mode only needs its own sidecar, so it goes on; say so.
			warn = fmt.Errorf("service mode is up, but: %w", startErr)
			c.log.Warn("mode: "+warn.Error(), "service", name)
		}
		c.stopGateway()
		// A degraded spell ends here whichever sidecar now serves the mode:
		// subscribers were told Degraded and must hear it end, or they keep
		// showing the new service as degraded (nothing else will end it).
		wasDegraded := c.degraded
		c.active, c.degraded, c.since = true, false, time.Now()
		c.setMode(ServiceMode(name, st.URL), true, warn)
		if wasDegraded {
			msg := name + " is ready again"
			if prevName := deref(prev.ServiceName); prev.Kind == Service && prevName != name {
				msg = name + " is ready; " + prevName + " no longer serves the mode"
			}
			c.emit(Event{Kind: Restored, Message: msg})
		}
		return true, warn
	}

	switch {
	case ctx.Err() != nil:
		err = fmt.Errorf("service mode with %s: %w", name, ctx.Err())
	case timedOut:
		err = fmt.Errorf("%s %w within %s", name, ErrNotReady, budget.Round(time.Second))
	case startErr != nil:
		err = fmt.Errorf("%s %w: %w", name, ErrNotReady, startErr)
	default:
		err = fmt.Errorf("%s %w (it is %s)", name, ErrNotReady, st.State)
	}
	if c.runCtx.Err() == nil {
		c.undo(j.t, group, before, keep, name, restore, restarted)
	}
	return false, err
}

// specChange is the spec an attempt gave a sidecar (its environment) and
// the one it had.
type specChange struct{ was, set config.Spec }

// undo stops what a failed Service attempt started (dependents first),
// except what was running before or what the previous mode needs, puts the
// sidecar's spec back unless a settings save replaced it meanwhile and, if
// the attempt restarted it, restarts it as it was.
func (c *Controller) undo(t *Transition, group []string, before, keep map[string]bool, name string, restore *specChange, restarted bool) {
	ctx, cancel := context.WithTimeout(c.runCtx, c.stopBudget(group)+c.startBudget([]string{name}))
	defer cancel()
	for i := len(group) - 1; i >= 0; i-- {
		n := group[i]
		if before[n] || keep[n] {
			continue
		}
		st, _ := c.sup.Status(n)
		if !st.State.HasProcess() && st.State != supervisor.Backoff {
			continue
		}
		c.progress(t, "stopping "+n+" again")
		if err := c.sup.Stop(ctx, n); err != nil {
			c.log.Warn("mode: could not stop what a failed attempt started", "sidecar", n, "err", err)
		}
	}
	if restore != nil {
		switch err := c.sup.SwapSpec(ctx, restore.set, restore.was); {
		case errors.Is(err, supervisor.ErrSpecChanged):
			// The settings saved meanwhile are what it runs with from now on.
			c.log.Info("mode: its settings were saved during the attempt; keeping them", "sidecar", name)
		case err != nil:
			c.log.Warn("mode: could not put the environment back", "sidecar", name, "err", err)
		}
	}
	if restarted {
		c.progress(t, "restarting "+name+" as it was")
		err := c.sup.Restart(ctx, name)
		if err == nil {
			err = c.sup.WaitReady(ctx, name)
		}
		if err != nil {
			c.log.Warn("mode: could not restore the sidecar as it was", "sidecar", name, "err", err)
		}
	}
}

// toLocalFree switches to Standalone or Connected: every sidecar stops
// first; one that does not is reported and the mode switches anyway.
func (c *Controller) toLocalFree(ctx context.Context, j *job) (bool, error) {
	target := j.target
	u := deref(target.ServerURL)
	sameGateway := target.Kind == Connected && c.gw != nil && c.gw.url == u
	var checked *error // the gateway's answer, when asked before switching
	if target.Kind == Connected && !j.apply && !sameGateway {
		// Ask before stopping anything: switching to a gateway that does
		// not answer would leave the user with nothing working. At launch
		// (Apply) nothing runs yet, so there is nothing to keep.
		c.progress(j.t, "checking the gateway at "+u)
		err := c.checkGateway(ctx, u)
		if ctx.Err() != nil {
			return false, fmt.Errorf("%s: %w", target, ctx.Err())
		}
		if err != nil && !j.force {
			return false, &GatewayError{URL: u, Err: err}
		}
		checked = &err
	}
	all := c.sup.Names()
	if len(c.runningSet()) > 0 {
		if target.Kind == Connected {
			c.progress(j.t, "stopping local sidecars")
		} else {
			c.progress(j.t, "stopping every sidecar")
		}
	}
	sctx, cancel := context.WithTimeout(ctx, c.stopBudget(all))
	serr := c.sup.StopAll(sctx)
	cancel()
	if ctx.Err() != nil {
		return false, fmt.Errorf("%s: %w", target, ctx.Err())
	}
	var still []string
	for _, st := range c.sup.Snapshot() {
		if st.State.HasProcess() || st.State == supervisor.Backoff {
			still = append(still, fmt.Sprintf("%s is %s", st.Name, st.State))
		}
	}
	var warn error
	if serr != nil || len(still) > 0 {
		var parts []string
		if serr != nil {
			parts = append(parts, serr.Error())
		}
		parts = append(parts, still...)
		warn = fmt.Errorf("%w: %s", ErrNotAllStopped, strings.Join(parts, "; "))
		c.log.Warn("mode: switching to "+target.String()+" although a sidecar did not stop", "err", warn)
	}
	c.active, c.degraded = false, false
	if !sameGateway {
		c.stopGateway()
	}
	c.setMode(target, true, warn)
	if target.Kind == Connected && !sameGateway {
		c.startGateway(u, checked)
	}
	return true, warn
}

// evaluate applies the Service-mode rules. It looks at the sidecar's
// current status rather than trusting the event (which may be old: events
// wait while a transition runs); notable events only add what a status
// cannot show, a crash that was already restarted.
func (c *Controller) evaluate(e *supervisor.Event) {
	if e != nil && e.Kind == supervisor.EventMetrics {
		return // CPU and memory samples, every sweep: nothing to decide
	}
	m := c.Current()
	if m.Kind != Service || !c.active {
		return
	}
	name := deref(m.ServiceName)
	if e != nil && e.Sidecar != name {
		return
	}
	if e != nil && !e.Time.Before(c.since) && !c.degraded &&
		(e.Kind == supervisor.EventRestarting || e.Kind == supervisor.EventUnhealthy) {
		c.degrade(name, e.Reason)
	}
	st, ok := c.sup.Status(name)
	if !ok {
		c.fallBack(fmt.Sprintf("%s is no longer configured", name), false)
		return
	}
	switch st.State {
	case supervisor.Ready:
		if c.degraded {
			c.degraded = false
			c.log.Info("mode: service sidecar is ready again", "sidecar", name)
			c.emit(Event{Kind: Restored, Message: name + " is ready again"})
		}
		if st.URL != deref(m.ServiceURL) {
			c.setMode(ServiceMode(name, st.URL), false, nil) // it came back on another port
		}
	case supervisor.Failed:
		c.fallBack(fmt.Sprintf("%s gave up: %s", name, why(st)), false)
	case supervisor.Exited:
		c.fallBack(fmt.Sprintf("%s exited and will not be restarted: %s", name, why(st)), false)
	case supervisor.Stopped, supervisor.Stopping:
		if !st.Wanted {
			c.fallBack(fmt.Sprintf("%s was stopped by the user", name), true)
			return
		}
		if st.State == supervisor.Stopped {
			c.fallBack(fmt.Sprintf("%s is not running", name), false)
			return
		}
		c.degrade(name, why(st)) // a Restart: it is coming back
	case supervisor.Starting, supervisor.Backoff, supervisor.Unhealthy:
		c.degrade(name, why(st))
	}
}

func (c *Controller) degrade(name, reason string) {
	if c.degraded {
		return
	}
	c.degraded = true
	msg := name + " is being restarted"
	if reason != "" {
		msg = name + ": " + reason
	}
	c.log.Warn("mode: service sidecar degraded", "sidecar", name, "reason", reason)
	c.emit(Event{Kind: Degraded, Message: msg})
}

func why(st supervisor.Status) string {
	switch {
	case st.Reason != "":
		return st.Reason
	case st.LastError != "":
		return st.LastError
	}
	return string(st.State)
}

// watchProgress turns the state changes of names into progress messages
// until the returned function is called; that function also reports what
// the supervisor's (asynchronous) events had not delivered yet, so the last
// message matches the final state ("xgen-workflow is ready").
func (c *Controller) watchProgress(t *Transition, names []string) (stop func()) {
	last := map[string]supervisor.State{}
	for _, n := range names {
		st, _ := c.sup.Status(n)
		last[n] = st.State // taken before subscribing: the first events are this or newer
	}
	report := func(n string, st supervisor.Status) {
		if prev, member := last[n]; !member || st.State == prev {
			return
		}
		last[n] = st.State
		switch st.State {
		case supervisor.Starting:
			c.progress(t, "starting "+n)
			c.progress(t, "waiting for "+n+" to be ready")
		case supervisor.Ready:
			c.progress(t, n+" is ready")
		case supervisor.Backoff:
			c.progress(t, n+" failed while starting; "+why(st))
		case supervisor.Failed:
			c.progress(t, n+" failed: "+why(st))
		case supervisor.Exited:
			c.progress(t, n+" exited: "+why(st))
		case supervisor.Stopping:
			c.progress(t, "stopping "+n)
		}
	}
	ch, unsub := c.sup.Subscribe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for e := range ch {
			if e.Kind == supervisor.EventState {
				report(e.Sidecar, e.Status)
			}
		}
	}()
	return func() {
		unsub()
		<-done
		for _, n := range names {
			if st, ok := c.sup.Status(n); ok {
				report(n, st)
			}
		}
	}
}

// autoStart lists the auto-start sidecars plus the service sidecar.
func (c *Controller) autoStart(service string) []string {
	var out []string
	seen := false
	for _, n := range c.sup.Names() {
		if sp, ok := c.sup.Spec(n); ok && sp.AutoStart {
			out = append(out, n)
			seen = seen || n == service
		}
	}
	if !seen {
		out = append(out, service)
	}
	return out
}

// runningSet is the sidecars that have a process or a restart pending.
func (c *Controller) runningSet() map[string]bool {
	out := map[string]bool{}
	for _, st := range c.sup.Snapshot() {
		if st.State.HasProcess() || st.State == supervisor.Backoff {
			out[st.Name] = true
		}
	}
	return out
}

// startBudget bounds a group start: their startup timeouts one after the
// other (the worst dependency chain) plus a margin.
func (c *Controller) startBudget(names []string) time.Duration {
	d := margin
	for _, n := range names {
		sp, _ := c.sup.Spec(n)
		if sp.StartupTimeout > 0 {
			d += sp.StartupTimeout
		} else {
			d += config.DefaultStartupTimeout
		}
	}
	return d
}

// stopBudget bounds stopping names one after the other.
func (c *Controller) stopBudget(names []string) time.Duration {
	d := margin
	for _, n := range names {
		sp, _ := c.sup.Spec(n)
		d += stopTime(sp)
	}
	return d
}

// stopTime is how long one stop may take: the grace period, then SIGKILL
// and the reaping of the group.
func stopTime(sp config.Spec) time.Duration {
	if sp.StopTimeout > 0 {
		return sp.StopTimeout + 3*time.Second
	}
	return config.DefaultStopTimeout + 3*time.Second
}
