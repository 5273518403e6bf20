package control

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"outrigger/core/supervisor"
)

// SidecarList is GET /v1/sidecars.
type SidecarList struct {
	Sidecars []supervisor.Status `json:"sidecars"`
}

// ActionResult answers a command: what was done and the status after it.
type ActionResult struct {
	Action   string              `json:"action"`
	Done     bool                `json:"done"` // true: waited until done (?wait); false: accepted
	Sidecars []supervisor.Status `json:"sidecars"`
}

func (s *Server) listSidecars(w http.ResponseWriter, r *http.Request) {
	s.look.glance()
	writeJSON(w, http.StatusOK, SidecarList{Sidecars: s.d.Sup.Snapshot()})
}

func (s *Server) getSidecar(w http.ResponseWriter, r *http.Request) {
	st, ok := s.status(w, r.PathValue("name"))
	if ok {
		s.look.glance()
		writeJSON(w, http.StatusOK, st)
	}
}

// status finds a sidecar or answers 404 naming the known ones.
func (s *Server) status(w http.ResponseWriter, name string) (supervisor.Status, bool) {
	st, ok := s.d.Sup.Status(name)
	if !ok {
		fail(w, http.StatusNotFound, CodeNotFound, fmt.Sprintf("no sidecar named %s (known: %s)", clip(name), quoteList(s.d.Sup.Names())))
	}
	return st, ok
}

// Wait says what a command's request waits for.
type Wait struct {
	For     string        // "", "ready" or "stopped"
	Timeout time.Duration // DefaultWait unless ?timeout= says otherwise
}

// ParseWait reads ?wait= and ?timeout= (a Go duration such as "30s", or
// whole seconds).
func ParseWait(q url.Values) (Wait, error) {
	w := Wait{For: q.Get("wait"), Timeout: DefaultWait}
	switch w.For {
	case "", "ready", "stopped":
	default:
		return w, fmt.Errorf("wait must be \"ready\" or \"stopped\", got %s", clip(w.For))
	}
	if t := q.Get("timeout"); t != "" {
		d, err := time.ParseDuration(t)
		if err != nil {
			n, nerr := strconv.Atoi(t)
			if nerr != nil {
				return w, fmt.Errorf("timeout must be a duration such as \"30s\", got %s", clip(t))
			}
			if n > int(MaxWait/time.Second) {
				n = int(MaxWait/time.Second) + 1 // refused below; n seconds would overflow a Duration
			}
			d = time.Duration(n) * time.Second
		}
		if d <= 0 || d > MaxWait {
			return w, fmt.Errorf("timeout must be more than 0 and at most %s, got %s", MaxWait, clip(t))
		}
		w.Timeout = d
	}
	return w, nil
}

// Actions on one sidecar.
const (
	ActStart   = "start"
	ActStop    = "stop"
	ActRestart = "restart"
	ActReset   = "reset"
)

func (s *Server) sidecarAction(w http.ResponseWriter, r *http.Request) {
	name, act := r.PathValue("name"), r.PathValue("action")
	switch act {
	case ActStart, ActStop, ActRestart, ActReset:
	default:
		fail(w, http.StatusNotFound, CodeNotFound, fmt.Sprintf("no action %s (actions: start, stop, restart, reset)", clip(act)))
		return
	}
	st, ok := s.status(w, name)
	if !ok || !drainBody(w, r) {
		return
	}
	wait, err := ParseWait(r.URL.Query())
	if err != nil {
		fail(w, http.StatusBadRequest, CodeBadRequest, err.Error())
		return
	}
	if msg := waitMismatch(act, wait.For); msg != "" {
		fail(w, http.StatusBadRequest, CodeBadRequest, msg)
		return
	}
	if act != ActStop && s.quitting(w) {
		return
	}
	// The conflicts a client can fix by asking differently are answered
	// before anything changes. A start of a sidecar that is not wanted
	// (a stop-all has not reached it yet, or its stop is under way) is no
	// conflict: the start wins (see supervisor.Start).
	switch {
	case act == ActStart && st.State.HasProcess() && st.Wanted:
		fail(w, http.StatusConflict, CodeConflict, fmt.Sprintf("%s is already %s (pid %d)", name, st.State, st.PID))
		return
	case act == ActReset && st.State != supervisor.Failed && st.State != supervisor.Exited && st.State != supervisor.Backoff:
		fail(w, http.StatusConflict, CodeConflict, fmt.Sprintf("%s is %s: reset applies to a failed, exited or backing-off sidecar (it forgets the crash history and starts it, as the window's \"Reset & start\")", name, st.State))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), wait.Timeout)
	defer cancel()
	sup := s.d.Sup
	var done <-chan error
	switch act {
	case ActStart, ActReset:
		// A start on a failed or backing-off sidecar forgets its crash
		// history: that is what reset means, in the window too.
		done = s.run(func(ctx context.Context) error { return sup.Start(ctx, name) })
	case ActRestart:
		done = s.run(func(ctx context.Context) error { return sup.Restart(ctx, name) })
	case ActStop:
		done = s.run(func(ctx context.Context) error { return sup.Stop(ctx, name) })
	}
	var cmdErr error
	switch {
	case act == ActStop && wait.For == "":
		// Stop returns once the tree is gone; it is accepted as soon as the
		// sidecar is no longer wanted.
		cmdErr = s.accepted(ctx, name, done, func(now supervisor.Status) bool {
			return !now.Wanted && now.State != supervisor.Ready && now.State != supervisor.Starting && now.State != supervisor.Unhealthy
		})
	case act == ActStart && wait.For == "" && st.State == supervisor.Stopping:
		// Start returns once the new run is up, after the stop under way
		// (its whole stop_timeout, for one that ignores SIGTERM): it is
		// accepted once the sidecar is wanted again.
		cmdErr = s.accepted(ctx, name, done, func(now supervisor.Status) bool { return now.Wanted })
	case act == ActRestart && wait.For == "":
		// Restart returns once the new run is up, which takes the old one's
		// whole stop first (its stop_timeout, for one that ignores SIGTERM):
		// longer than a client waits for an answer to a command it did not
		// ask to wait for. It is accepted once the old run is ending for it
		// (Stopping, still wanted) or gone.
		cmdErr = s.accepted(ctx, name, done, func(now supervisor.Status) bool {
			return now.Wanted && (now.State == supervisor.Stopping || now.PID != st.PID)
		})
	default:
		select {
		case cmdErr = <-done:
		case <-ctx.Done():
			cmdErr = ctx.Err()
		}
	}
	if cmdErr == nil && wait.For == "ready" {
		cmdErr = sup.WaitReady(ctx, name)
	}
	if cmdErr != nil {
		s.commandFailed(w, ctx, act+" "+name, cmdErr)
		return
	}
	status := http.StatusAccepted
	if wait.For != "" {
		status = http.StatusOK
	}
	after, _ := sup.Status(name)
	writeJSON(w, status, ActionResult{Action: act, Done: wait.For != "", Sidecars: []supervisor.Status{after}})
}

func waitMismatch(act, wait string) string {
	switch {
	case wait == "ready" && act == ActStop:
		return "stop waits with wait=stopped, not wait=ready"
	case wait == "stopped" && act != ActStop:
		return act + " waits with wait=ready, not wait=stopped"
	}
	return ""
}

// accepted waits until a command has reached the sidecar (its status
// says so: under) or has finished.
func (s *Server) accepted(ctx context.Context, name string, done <-chan error, under func(supervisor.Status) bool) error {
	events, unsub := s.d.Sup.Subscribe()
	defer unsub()
	for {
		if st, _ := s.d.Sup.Status(name); under(st) {
			return nil
		}
		select {
		case err := <-done:
			return err
		case <-events:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// commandFailed maps a command's error to the answer: a wait that ran out
// is 503 timeout, the server closing is 503 unavailable, anything else a
// failure the message explains (503 failed).
func (s *Server) commandFailed(w http.ResponseWriter, ctx context.Context, what string, err error) {
	switch {
	case s.ctx.Err() != nil || errors.Is(err, supervisor.ErrQuitting):
		fail(w, http.StatusServiceUnavailable, CodeUnavailable, what+": Outrigger is quitting")
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() == context.DeadlineExceeded:
		fail(w, http.StatusServiceUnavailable, CodeTimeout, what+": not done in time (the command goes on): "+err.Error())
	default:
		fail(w, http.StatusServiceUnavailable, CodeFailed, what+": "+err.Error())
	}
}

// quitting answers 503 to a command that would start something once the
// quit has begun: the quit would kill it again at its end, without its stop
// grace, and a second launch asking to show the window must learn that the
// instance is going away (it then waits and takes over). The supervisor
// refuses such a start too (ErrQuitting), which closes the gap between this
// check and the command.
func (s *Server) quitting(w http.ResponseWriter) bool {
	if !s.d.Sup.Quitting() {
		return false
	}
	fail(w, http.StatusServiceUnavailable, CodeUnavailable, "Outrigger is quitting")
	return true
}

// allAction is POST /v1/sidecars/start|stop: the window's Start all / Stop
// all (StartGroup over every sidecar, StopAll).
func (s *Server) allAction(w http.ResponseWriter, r *http.Request) {
	act := r.PathValue("action")
	if act != ActStart && act != ActStop {
		fail(w, http.StatusNotFound, CodeNotFound, fmt.Sprintf("no action %s for every sidecar (actions: start, stop; or POST /v1/sidecars/{name}/%s)", clip(act), clip(act)))
		return
	}
	if !drainBody(w, r) {
		return
	}
	wait, err := ParseWait(r.URL.Query())
	if err != nil {
		fail(w, http.StatusBadRequest, CodeBadRequest, err.Error())
		return
	}
	if msg := waitMismatch(act, wait.For); msg != "" {
		fail(w, http.StatusBadRequest, CodeBadRequest, msg)
		return
	}
	if act == ActStart && s.quitting(w) {
		return
	}
	sup := s.d.Sup
	ctx, cancel := context.WithTimeout(r.Context(), wait.Timeout)
	defer cancel()
	var done <-chan error
	if act == ActStart {
		names := sup.Names()
		done = s.run(func(ctx context.Context) error { return sup.StartGroup(ctx, names) })
	} else {
		// Accepted once no sidecar is wanted any more, not when the job
		// begins: a stop waits for its dependents' (dependents first), and
		// a start asked after this answer must win over the stop it would
		// otherwise meet later (or be refused for: "it is stopping").
		marked := make(chan struct{})
		done = s.run(func(ctx context.Context) error {
			return sup.StopAllAccepted(ctx, func() { close(marked) })
		})
		if wait.For == "" {
			select {
			case <-marked:
			case <-ctx.Done():
				s.commandFailed(w, ctx, act+" all", ctx.Err())
				return
			}
		}
	}
	if wait.For == "" {
		writeJSON(w, http.StatusAccepted, ActionResult{Action: act, Sidecars: sup.Snapshot()})
		return
	}
	select {
	case err = <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		s.commandFailed(w, ctx, act+" all", err)
		return
	}
	writeJSON(w, http.StatusOK, ActionResult{Action: act, Done: true, Sidecars: sup.Snapshot()})
}

// drainBody refuses a body on routes that take none (empty and "{}" are
// accepted, for clients that always send one).
func drainBody(w http.ResponseWriter, r *http.Request) bool {
	b, err := io.ReadAll(io.LimitReader(r.Body, 17))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		fail(w, http.StatusRequestEntityTooLarge, CodeTooLarge, "request body too large")
		return false
	case err != nil:
		fail(w, http.StatusBadRequest, CodeBadRequest, "reading the request body: "+err.Error())
		return false
	}
	if t := strings.TrimSpace(string(b)); t != "" && t != "{}" {
		fail(w, http.StatusBadRequest, CodeBadRequest, "this route takes no request body (options go in the query: ?wait=ready&timeout=30s)")
		return false
	}
	return true
}
