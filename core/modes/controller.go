package modes

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"outrigger/core/config"
	"outrigger/core/eventbus"
	"outrigger/core/supervisor"
)

// Options configure a Controller.
type Options struct {
	Sup             *supervisor.Supervisor // required
	Service         string                 // the default Service-mode sidecar (config.Service); "" means xgen-workflow
	Persist         func(Mode) error       // remembers the mode (see Remember); nil = not remembered
	Logger          *slog.Logger           // nil: slog.Default()
	GatewayInterval time.Duration          // how often Connected mode checks the gateway; default 10s
	HTTPClient      *http.Client           // for the gateway check; nil: a client with a 5s timeout that honours the proxy settings
	// Authorize adds the gateway's credentials to each /health check,
	// read afresh each time (main: the saved or environment token, see
	// wfapi.Authorize); an error fails that check with it. nil: none.
	Authorize func(*http.Request) error
}

// DefaultGatewayInterval is how often Connected mode checks the gateway.
const DefaultGatewayInterval = 10 * time.Second

// gatewayTimeout bounds one gateway check.
const gatewayTimeout = 5 * time.Second

// Errors a Transition may end with (use errors.Is).
var (
	// ErrStopped: the controller's Run ended before the transition could run.
	ErrStopped = errors.New("mode controller stopped")
	// ErrNotReady: the Service-mode sidecar did not become Ready; the
	// previous mode stays.
	ErrNotReady = errors.New("did not become ready")
	// ErrNotAllStopped: the mode did switch, but a sidecar did not stop.
	ErrNotAllStopped = errors.New("not every sidecar stopped")
	// ErrGatewayUnreachable: the gateway of a Connected switch did not
	// answer, so nothing was stopped and the previous mode stays; the
	// error is a *GatewayError. Connect with Force switches anyway.
	ErrGatewayUnreachable = errors.New("gateway is unreachable")
)

// Controller is the Standalone / Service / Connected state machine. It runs
// one transition at a time, in the order they were asked for, on the
// goroutine of Run; callers get a Transition handle at once and never wait.
// Between transitions that goroutine applies the rules of Service mode (a
// user Stop or a give-up of its sidecar falls back to Standalone, a crash
// shows as Degraded until Ready again) and Connected mode's gateway checks
// report reachability.
type Controller struct {
	opts      Options
	sup       *supervisor.Supervisor
	log       *slog.Logger
	client    *http.Client
	ownClient bool
	interval  time.Duration
	hub       *eventbus.Bus[Event]
	wake      chan struct{}

	mu      sync.Mutex // guards the fields below; held while emitting, so events keep their order
	mode    Mode
	queue   []*job
	running bool
	stopped bool
	reach   reach
	moving  *Mode // the target of the transition in progress
	gwSeq   int   // bumped whenever the gateway check restarts or stops: late results are dropped

	// Owned by Run's goroutine.
	runCtx     context.Context
	active     bool      // the Service mode is established: its sidecar became Ready under us
	degraded   bool      // Degraded was sent and Restored not yet
	since      time.Time // when the current Service mode was established
	gw         *gateway
	remembered Mode // what Persist last saved (at first: the initial mode, which came from the settings)
}

type reach struct {
	ok      bool
	checked time.Time
	err     error
}

type job struct {
	apply  bool // Apply: bring up the whole mode (auto-start sidecars); on failure fall back
	force  bool // Connected: switch even if the gateway does not answer
	target Mode
	env    map[string]string
	ctx    context.Context // the caller's, for Apply; Background otherwise
	t      *Transition
}

// Transition is the handle of one requested mode change.
type Transition struct {
	target   Mode
	done     chan struct{}
	progress chan string
	err      error
}

func newTransition(target Mode) *Transition {
	return &Transition{target: target, done: make(chan struct{}), progress: make(chan string, 32)}
}

// Target is the mode the transition heads for (for Service, without its URL).
func (t *Transition) Target() Mode { return t.target }

// Done is closed when the transition has finished, switched or not.
func (t *Transition) Done() <-chan struct{} { return t.done }

// Err is the result once Done is closed (nil before): nil when the mode
// switched as asked. A Service start that did not become Ready gives an
// error wrapping ErrNotReady and the previous mode stays. A switch that
// happened with a problem (a sidecar that did not stop: ErrNotAllStopped)
// also gives an error; Current() tells whether the mode changed.
func (t *Transition) Err() error {
	select {
	case <-t.done:
		return t.err
	default:
		return nil
	}
}

// Progress delivers human-readable progress messages ("starting
// xgen-embedding", "waiting for xgen-workflow to be ready") and is closed
// when the transition is done. Reading it is optional: when its buffer is
// full the oldest message is dropped.
func (t *Transition) Progress() <-chan string { return t.progress }

// Wait waits until the transition is done and returns Err, or ctx's error.
func (t *Transition) Wait(ctx context.Context) error {
	select {
	case <-t.done:
		return t.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// say queues a progress message, dropping the oldest when full. Only the
// controller sends, and never after finish.
func (t *Transition) say(msg string) {
	select {
	case t.progress <- msg:
		return
	default:
	}
	select {
	case <-t.progress:
	default:
	}
	select {
	case t.progress <- msg:
	default:
	}
}

func (t *Transition) finish(err error) {
	t.err = err
	close(t.progress)
	close(t.done)
}

// New makes a controller whose current mode is initial — the remembered
// one, which Apply then brings up. A Service initial mode without a
// sidecar name uses opts.Service; its URL is filled in once it is Ready.
// Nothing runs until Run.
func New(opts Options, initial Mode) *Controller {
	if opts.Sup == nil {
		panic("modes: Options.Sup is required")
	}
	if opts.Service == "" {
		opts.Service = config.DefaultService
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.GatewayInterval <= 0 {
		opts.GatewayInterval = DefaultGatewayInterval
	}
	c := &Controller{
		opts:     opts,
		sup:      opts.Sup,
		log:      opts.Logger,
		client:   opts.HTTPClient,
		interval: opts.GatewayInterval,
		hub:      newHub(),
		wake:     make(chan struct{}, 1),
	}
	if c.client == nil {
		c.client, c.ownClient = defaultClient(), true
	}
	c.mode = c.normalize(initial)
	c.remembered = c.mode
	return c
}

func defaultClient() *http.Client {
	return &http.Client{
		Timeout: gatewayTimeout,
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment, // a remote gateway may sit behind a proxy
			DialContext:           (&net.Dialer{Timeout: gatewayTimeout}).DialContext,
			TLSHandshakeTimeout:   gatewayTimeout,
			ResponseHeaderTimeout: gatewayTimeout,
			MaxIdleConnsPerHost:   1,
			IdleConnTimeout:       30 * time.Second,
			ForceAttemptHTTP2:     true,
		},
	}
}

// normalize fills defaults in a requested mode: the service name, no URL
// for a Service mode that is not up yet, a trimmed gateway URL.
func (c *Controller) normalize(m Mode) Mode {
	switch m.Kind {
	case "":
		return ServiceMode(c.opts.Service, "")
	case Service:
		name := strings.TrimSpace(deref(m.ServiceName))
		if name == "" {
			name = c.opts.Service
		}
		return ServiceMode(name, "")
	case Connected:
		return ConnectedMode(strings.TrimSpace(deref(m.ServerURL)))
	}
	return m
}

// Current returns the mode now. During a transition it is still the
// previous mode: a mode is current only once it is up.
func (c *Controller) Current() Mode {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mode
}

// Health returns the last gateway check of Connected mode: whether it was
// reachable, when it was checked (zero: not checked yet, or not Connected)
// and why it was not reachable.
func (c *Controller) Health() (reachable bool, checked time.Time, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reach.ok, c.reach.checked, c.reach.err
}

// Subscribe returns a channel of events and a function that ends the
// subscription. The first event is a ModeChanged with the current mode,
// then, when known, the last reachability (Connected mode) and the
// transition in progress (Transitioning). The
// controller never waits for a subscriber: each has its own queue, where
// Progress events are coalesced and dropped first; ModeChanged, FellBack,
// TransitionFailed, Transitioning and PersistFailed are never dropped. The
// channel closes when the subscription ends or Run returns.
func (c *Controller) Subscribe() (<-chan Event, func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	initial := []Event{{Kind: ModeChanged, Mode: c.mode, Message: c.mode.String(), Time: now}}
	if c.mode.Kind == Connected && !c.reach.checked.IsZero() {
		initial = append(initial, c.reachEvent(c.reach, deref(c.mode.ServerURL), now))
	}
	if c.moving != nil {
		target := *c.moving
		initial = append(initial, Event{Kind: Transitioning, Mode: c.mode, Target: &target, Message: "switching to " + target.String(), Time: now})
	}
	return c.hub.Subscribe(initial)
}

// EnableService asks for Service mode backed by the sidecar name ("" means
// Options.Service). env, when not empty, is merged into the sidecar's
// environment (in memory, via the supervisor's UpdateSpec) before it
// starts; if it is already running with a different environment it is
// restarted. The sidecar and what it depends on are started and the mode
// switches once it is Ready — within the sum of their startup_timeouts
// plus a margin. Otherwise the previous mode stays, what this attempt
// started is stopped again and the environment change is undone.
func (c *Controller) EnableService(name string, env map[string]string) *Transition {
	return c.enqueue(&job{target: ServiceMode(strings.TrimSpace(name), ""), env: maps.Clone(env), ctx: context.Background()})
}

// EnableStandalone stops every sidecar and switches to Standalone. A
// sidecar that does not stop is reported (ErrNotAllStopped, also on the
// ModeChanged event) and the mode switches anyway.
func (c *Controller) EnableStandalone() *Transition {
	return c.enqueue(&job{target: StandaloneMode(), ctx: context.Background()})
}

// EnableConnected is Connect without options: it switches only if the
// gateway answers.
func (c *Controller) EnableConnected(url string) *Transition {
	return c.Connect(url, ConnectOptions{})
}

// ConnectOptions modify a switch to Connected mode.
type ConnectOptions struct {
	// Force switches even when the gateway does not answer now (the user
	// chose "switch anyway"); the mode then shows the gateway as unreachable.
	Force bool
}

// Connect validates url (http or https with a host) and asks the gateway's
// /health before stopping anything: if it does not answer, the transition
// fails with a *GatewayError (errors.Is ErrGatewayUnreachable) and the
// previous mode stays, with every sidecar as it was — unless o.Force. Then
// it stops every local sidecar, switches to Connected and checks the
// gateway every GatewayInterval, sending Reachable / Unreachable when the
// answer changes (and for the first answer). An invalid URL fails the
// transition; the previous mode stays.
func (c *Controller) Connect(url string, o ConnectOptions) *Transition {
	return c.enqueue(&job{target: ConnectedMode(strings.TrimSpace(url)), force: o.Force, ctx: context.Background()})
}

// Apply brings m up at launch and waits for the result (or ctx). Service:
// the auto-start sidecars and the Service-mode sidecar, with their
// dependencies, are started (other auto-start sidecars that fail are
// reported in the error but do not stop Service mode). Standalone and
// Connected start nothing. If m cannot be brought up the controller falls
// back to Standalone (FellBack) without remembering that, so the next
// launch tries m again. Apply queues behind other transitions like any
// request; Run must be running for it to finish.
func (c *Controller) Apply(ctx context.Context, m Mode) error {
	t := c.enqueue(&job{apply: true, target: c.normalize(m), ctx: ctx})
	return t.Wait(ctx)
}

func (c *Controller) enqueue(j *job) *Transition {
	if j.target.Kind == Service && deref(j.target.ServiceName) == "" {
		j.target = ServiceMode(c.opts.Service, "")
	}
	j.t = newTransition(j.target)
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		j.t.finish(ErrStopped)
		return j.t
	}
	c.queue = append(c.queue, j)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return j.t
}

func (c *Controller) pop() *job {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.queue) == 0 {
		return nil
	}
	j := c.queue[0]
	c.queue[0] = nil
	c.queue = c.queue[1:]
	return j
}

// Run is the controller's goroutine: it runs the queued transitions one by
// one, applies the Service-mode rules to the supervisor's events and runs
// Connected mode's gateway checks. It returns when ctx ends, after every
// goroutine it started has ended; a transition in progress is abandoned
// (the mode does not change), queued ones end with ErrStopped and every
// subscription closes. Run once; cancel its ctx before the supervisor's
// StopAll / Close on quit, or those stops would read as a user Stop and
// fall back to Standalone.
func (c *Controller) Run(ctx context.Context) {
	c.mu.Lock()
	if c.running || c.stopped {
		c.mu.Unlock()
		c.log.Error("modes: Run called twice")
		return
	}
	c.running = true
	m := c.mode
	c.mu.Unlock()
	c.runCtx = ctx

	events, unsub := c.sup.Subscribe()
	defer c.shutdown(unsub)
	if m.Kind == Connected && m.validate() == nil {
		c.startGateway(deref(m.ServerURL), nil)
	}
	for {
		if ctx.Err() != nil {
			return
		}
		if j := c.pop(); j != nil {
			c.execute(ctx, j)
			c.evaluate(nil)
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-c.wake:
		case e, ok := <-events:
			if !ok {
				events = nil // the supervisor closed
				continue
			}
			c.evaluate(&e)
		}
	}
}

func (c *Controller) shutdown(unsub func()) {
	c.stopGateway()
	c.mu.Lock()
	c.stopped, c.running = true, false
	q := c.queue
	c.queue = nil
	c.mu.Unlock()
	for _, j := range q {
		j.t.finish(ErrStopped)
	}
	unsub()
	c.hub.Close()
	if c.ownClient {
		c.client.CloseIdleConnections()
	}
}

// emit sends an event stamped with the current mode and time.
func (c *Controller) emit(e Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.emitLocked(e)
}

func (c *Controller) emitLocked(e Event) {
	e.Mode = c.mode
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	c.hub.Publish(e)
}

func (c *Controller) progress(t *Transition, msg string) {
	t.say(msg)
	target := t.target
	c.emit(Event{Kind: Progress, Target: &target, Message: msg})
	c.log.Debug("mode: " + msg)
}

// setMode makes m current and announces it (warn, if any, rides on the
// ModeChanged event). remember says whether the change is the user's choice
// to keep across launches; fall-backs caused by failures are not.
func (c *Controller) setMode(m Mode, remember bool, warn error) {
	c.mu.Lock()
	prev := c.mode
	c.mode = m
	c.moving = nil // a ModeChanged ends the transition for the UI
	c.emitLocked(Event{Kind: ModeChanged, Message: m.String(), Err: warn})
	c.mu.Unlock()
	if !prev.Equal(m) {
		c.log.Info("mode: now "+m.String(), "was", prev.String())
	}
	if remember && !c.remembered.sameChoice(m) {
		c.persist(m)
	}
}

func (c *Controller) persist(m Mode) {
	if c.opts.Persist == nil {
		c.remembered = m
		return
	}
	if err := c.opts.Persist(m); err != nil {
		c.log.Error("mode: could not remember the mode", "mode", m.String(), "err", err)
		c.emit(Event{Kind: PersistFailed, Message: "could not remember " + m.String() + ": " + err.Error(), Err: err})
		return
	}
	c.remembered = m
}

// fallBack switches to Standalone because the Service mode cannot go on.
func (c *Controller) fallBack(reason string, remember bool) {
	c.active, c.degraded = false, false
	c.stopGateway()
	c.log.Warn("mode: falling back to standalone", "reason", reason)
	c.setMode(StandaloneMode(), remember, nil)
	c.emit(Event{Kind: FellBack, Message: reason})
}
