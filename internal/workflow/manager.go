package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"outrigger/internal/workflow/jsoncheck"
)

// Causes recorded on an execution's context.
var (
	errCancelled = errors.New("cancelled on request")
	errShutdown  = errors.New("the service stopped before the execution finished")
)

// ManagerConfig configures a Manager. Zero values take the defaults noted.
type ManagerConfig struct {
	Store     *Store     // required
	Workflows []Workflow // the catalogue; required
	Logger    *slog.Logger

	MaxWorkers int // concurrent executions; default 10
	MaxQueued  int // executions waiting for a worker; default 100; negative: none

	WebhookSecret   string        // signs webhook bodies when set
	WebhookAttempts int           // default 5
	WebhookBackoff  time.Duration // first retry delay, doubled each time; default 500ms
	WebhookTimeout  time.Duration // per attempt; default 10s
	WebhookClient   *http.Client  // default: a client that follows no redirect (per-attempt timeout from ctx)
	// WebhookBudget bounds the bytes of webhook bodies held at once, over
	// all deliveries; default DefaultWebhookBudget.
	WebhookBudget int64

	// MaxStreamBuffer is how far (bytes) a stream may fall behind before it
	// is dropped; default DefaultMaxStreamBuffer.
	MaxStreamBuffer int64

	// Test seams: beforePublish sees every event of a followed execution
	// just before it goes out.
	beforePublish func(ex *Execution, name string, data []byte)
}

// Manager owns every execution: it admits them (MaxWorkers slots handed out
// in FIFO order, and a bounded queue), runs their nodes under a context of its own (never a
// request's), stores each step before publishing it, and delivers webhooks.
// Every goroutine it starts ends by Shutdown/Close.
type Manager struct {
	cfg       ManagerConfig
	log       *slog.Logger
	store     *Store
	workflows map[string]Workflow
	order     []WorkflowInfo

	execCtx    context.Context // parent of every execution; cancelled when the grace period ends
	execCancel context.CancelCauseFunc
	hookCtx    context.Context // parent of every webhook delivery
	hookCancel context.CancelFunc

	mu      sync.Mutex
	active  map[string]*Execution // queued or running, by interaction id
	free    int                   // worker slots not handed out
	waiting []*Execution          // FIFO of executions waiting for a slot
	closed  bool
	closing chan struct{} // closed when shutdown begins

	execWG sync.WaitGroup
	hookWG sync.WaitGroup

	running atomic.Int64
	queued  atomic.Int64
	peak    atomic.Int64

	hookBudget *budget       // bytes of webhook bodies in memory
	hooks      atomic.Int64  // deliveries pending (waiting or posting)
	finished   chan struct{} // a non-blocking kick to the pruner per finished execution
}

// NewManager returns a Manager ready to accept executions.
func NewManager(cfg ManagerConfig) (*Manager, error) {
	if cfg.Store == nil {
		return nil, errors.New("workflow: ManagerConfig.Store is nil")
	}
	if cfg.MaxWorkers <= 0 {
		cfg.MaxWorkers = 10
	}
	if cfg.MaxQueued == 0 {
		cfg.MaxQueued = 100
	} else if cfg.MaxQueued < 0 {
		cfg.MaxQueued = 0
	}
	if cfg.WebhookAttempts <= 0 {
		cfg.WebhookAttempts = 5
	}
	if cfg.WebhookBackoff <= 0 {
		cfg.WebhookBackoff = 500 * time.Millisecond
	}
	if cfg.WebhookTimeout <= 0 {
		cfg.WebhookTimeout = 10 * time.Second
	}
	hc := http.Client{}
	if cfg.WebhookClient != nil {
		hc = *cfg.WebhookClient // a copy: the caller's client is not changed
	}
	// A 3xx to a POST is a failure: following it would turn the delivery
	// into a GET without the body (or loop), and "delivered" would be a lie.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	cfg.WebhookClient = &hc
	if cfg.WebhookBudget <= 0 {
		cfg.WebhookBudget = DefaultWebhookBudget
	}
	if cfg.MaxStreamBuffer <= 0 {
		cfg.MaxStreamBuffer = DefaultMaxStreamBuffer
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	m := &Manager{
		cfg:       cfg,
		log:       cfg.Logger,
		store:     cfg.Store,
		workflows: make(map[string]Workflow, len(cfg.Workflows)),
		free:      cfg.MaxWorkers,
		active:    make(map[string]*Execution),
		closing:   make(chan struct{}),
		finished:  make(chan struct{}, 1),
	}
	m.hookBudget = newBudget(cfg.WebhookBudget)
	for _, w := range cfg.Workflows {
		if _, dup := m.workflows[w.Info.ID]; dup {
			return nil, fmt.Errorf("workflow: duplicate workflow id %q", w.Info.ID)
		}
		m.workflows[w.Info.ID] = w
		m.order = append(m.order, w.Info)
	}
	m.execCtx, m.execCancel = context.WithCancelCause(context.Background())
	m.hookCtx, m.hookCancel = context.WithCancel(context.Background())
	return m, nil
}

// Workflows lists the catalogue in its configured order.
func (m *Manager) Workflows() []WorkflowInfo { return m.order }

// Status reports the worker cap and the current load. It takes no lock.
func (m *Manager) Status() ExecStatus {
	select {
	case <-m.closing:
		return m.status(false)
	default:
		return m.status(true)
	}
}

func (m *Manager) status(accepting bool) ExecStatus {
	return ExecStatus{
		MaxWorkers: m.cfg.MaxWorkers,
		Running:    int(m.running.Load()),
		Queued:     int(m.queued.Load()),
		MaxQueued:  m.cfg.MaxQueued,
		Accepting:  accepting,
	}
}

// Peak is the highest number of executions that ran at once.
func (m *Manager) Peak() int { return int(m.peak.Load()) }

// Execution is one admitted run. When a stream follows it (follow), its
// events are kept until that stream takes them, and dropped with the stream
// once it is MaxStreamBuffer bytes behind; the executor never waits for a
// reader, and nothing is kept for a run nobody streams.
type Execution struct {
	InteractionID string
	WorkflowID    string
	id            int64
	nodes         []Node
	input         json.RawMessage
	callbackURL   string
	ctx           context.Context
	cancel        context.CancelCauseFunc
	created       time.Time

	start    chan struct{} // closed when a worker slot is handed to it
	admitted chan struct{} // closed when the submit's outcome is known: stored (id set) or refused and out of active
	granted  bool          // under Manager.mu
	ending   bool          // under Manager.mu: finish has begun, its status is decided

	follow    bool
	maxBuffer int64
	hook      func(ex *Execution, name string, data []byte) // ManagerConfig.beforePublish
	dropped   chan struct{}                                 // closed when the stream falls too far behind

	mu      sync.Mutex
	events  []sseEvent    // published, not yet taken by the stream
	lag     int64         // bytes published and not yet written by the stream
	changed chan struct{} // closed and replaced on every event
	done    chan struct{} // closed after the end event
	end     EndEvent
}

type sseEvent struct {
	name string // "" for a plain data chunk
	data []byte
}

// ID is the execution's row id in the database.
func (e *Execution) ID() int64 { return e.id }

// Done is closed once the execution has ended and its end is stored.
func (e *Execution) Done() <-chan struct{} { return e.done }

// End is the final event; valid after Done is closed.
func (e *Execution) End() EndEvent {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.end
}

// take hands the stream the events published since its last take, and
// reports whether the execution has ended and a channel closed at the next
// event.
func (e *Execution) take() ([]sseEvent, bool, <-chan struct{}) {
	e.mu.Lock()
	defer e.mu.Unlock()
	evs := e.events
	e.events = nil
	return evs, isClosed(e.done), e.changed
}

// wrote tells ex that the stream has written n bytes of event data.
func (e *Execution) wrote(n int64) {
	e.mu.Lock()
	e.lag -= n
	e.mu.Unlock()
}

// keep queues an event for the stream, or drops the stream when it is too
// far behind. Call with e.mu held.
func (e *Execution) keep(name string, b []byte) {
	if !e.follow || isClosed(e.dropped) {
		return
	}
	if e.hook != nil {
		e.hook(e, name, b)
	}
	// One event always fits when the stream has caught up.
	if e.lag > 0 && e.lag+int64(len(b)) > e.maxBuffer {
		e.events, e.lag = nil, 0
		close(e.dropped)
		return
	}
	e.events = append(e.events, sseEvent{name: name, data: b})
	e.lag += int64(len(b))
}

func (e *Execution) publish(name string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(`{"error":"unencodable event"}`)
	}
	e.mu.Lock()
	e.keep(name, b)
	close(e.changed)
	e.changed = make(chan struct{})
	e.mu.Unlock()
}

// publishEnd publishes the final event and marks the execution done, in one
// step so that a reader never sees the end without done (or the reverse).
func (e *Execution) publishEnd(end EndEvent) {
	b, _ := json.Marshal(end)
	e.mu.Lock()
	e.end = end
	e.keep(EventEnd, b)
	close(e.done)
	close(e.changed)
	e.changed = make(chan struct{})
	e.mu.Unlock()
}

func (e *Execution) logEvent(status, nodeID string, index int, msg string) {
	e.publish(EventLog, LogEvent{
		InteractionID: e.InteractionID, Status: status, NodeID: nodeID,
		Index: index, Total: len(e.nodes), Message: msg, Time: time.Now().UTC(),
	})
}

// Submit validates req, stores the execution as queued and starts it (or
// queues it when every worker is busy). Errors: ErrUnknownWorkflow, an
// *InputError, ErrQueueFull, ErrDuplicate, a *ReusedError, ErrClosed, or a
// store error. Its events are not kept: follow it with Done and End.
func (m *Manager) Submit(req RunRequest) (*Execution, error) { return m.submit(req, false) }

// ReusedError refuses an interaction_id that a finished execution already
// has: its result stays reachable at /results instead of being hidden by a
// new one (409).
type ReusedError struct{ ID, Status string }

func (e *ReusedError) Error() string {
	return fmt.Sprintf("interaction_id %q is taken by an execution that ended %s; its result is at /results/%s; use a new id", e.ID, e.Status, e.ID)
}

func (e *ReusedError) Unwrap() error { return ErrFinished }

// submit is Submit; follow keeps the events for one stream.
func (m *Manager) submit(req RunRequest, follow bool) (*Execution, error) {
	w, ok := m.workflows[req.WorkflowID]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownWorkflow, req.WorkflowID)
	}
	if err := validInteractionID(req.InteractionID); err != nil {
		return nil, &InputError{Err: err}
	}
	if err := validCallbackURL(req.CallbackURL); err != nil {
		return nil, &InputError{Err: err}
	}
	if err := jsoncheck.Text(req.Input); err != nil { // callers other than the HTTP API
		return nil, &InputError{Err: fmt.Errorf("input: %w", err)}
	}
	input := req.Input
	if len(input) == 0 {
		input = json.RawMessage("{}")
	}
	nodes, err := safePlan(w, input)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancelCause(m.execCtx)
	ex := &Execution{
		InteractionID: req.InteractionID,
		WorkflowID:    req.WorkflowID,
		nodes:         nodes,
		input:         input,
		callbackURL:   req.CallbackURL,
		ctx:           ctx,
		cancel:        cancel,
		created:       time.Now(),
		changed:       make(chan struct{}),
		done:          make(chan struct{}),
		start:         make(chan struct{}),
		admitted:      make(chan struct{}),
		follow:        follow,
		maxBuffer:     m.cfg.MaxStreamBuffer,
		hook:          m.cfg.beforePublish,
		dropped:       make(chan struct{}),
	}

	m.mu.Lock()
	switch {
	case m.closed:
		m.mu.Unlock()
		cancel(nil)
		return nil, ErrClosed
	case m.active[ex.InteractionID] != nil:
		m.mu.Unlock()
		cancel(nil)
		return nil, ErrDuplicate
	case len(m.active) >= m.cfg.MaxWorkers+m.cfg.MaxQueued:
		m.mu.Unlock()
		cancel(nil)
		return nil, ErrQueueFull
	}
	m.active[ex.InteractionID] = ex
	m.queued.Add(1)
	m.execWG.Add(1)
	m.mu.Unlock()

	// The id is reserved in active, so no other Submit can store it between
	// this check and the insert.
	prev, err := m.store.latestStatus(ex.InteractionID)
	if err == nil {
		err = &ReusedError{ID: ex.InteractionID, Status: prev}
	} else if errors.Is(err, ErrNotFound) {
		err = nil
	}
	if err != nil {
		m.unreserve(ex)
		return nil, err
	}

	id, err := m.store.createExecution(ex.InteractionID, ex.WorkflowID, input, maskURL(ex.callbackURL), ex.created)
	if err != nil {
		m.unreserve(ex)
		m.log.Error("store: create execution", "interaction_id", ex.InteractionID, "err", err)
		return nil, fmt.Errorf("store: %w", err)
	}
	ex.id = id
	close(ex.admitted)
	m.log.Info("execution queued", "interaction_id", ex.InteractionID, "workflow", ex.WorkflowID,
		"execution_id", id, "nodes", len(nodes))
	ex.logEvent(StatusQueued, "", 0, "queued")
	m.mu.Lock()
	if m.free > 0 { // then nobody waits: release hands slots to waiters directly
		m.free--
		m.grant(ex)
	} else {
		m.waiting = append(m.waiting, ex)
	}
	m.mu.Unlock()
	go m.run(ex)
	return ex, nil
}

// unreserve undoes submit's reservation of ex when it is refused before
// being stored, then tells a cancel waiting for it (see Cancel).
func (m *Manager) unreserve(ex *Execution) {
	m.mu.Lock()
	delete(m.active, ex.InteractionID)
	m.mu.Unlock()
	m.queued.Add(-1)
	m.execWG.Done()
	ex.cancel(nil)
	close(ex.admitted)
}

func safePlan(w Workflow, input json.RawMessage) (nodes []Node, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &InputError{Err: fmt.Errorf("planning panicked: %v", r)}
		}
	}()
	return w.Plan(input)
}

// Lookup returns the queued or running execution for interactionID.
func (m *Manager) Lookup(interactionID string) *Execution {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.active[interactionID]
}

// Cancel cancels the queued or running execution for interactionID. It
// returns ErrFinished when the latest stored execution has already ended
// (or its end is being stored) and ErrNotFound when there is none.
func (m *Manager) Cancel(ctx context.Context, interactionID string) error {
	m.mu.Lock()
	ex := m.active[interactionID]
	ending := ex != nil && ex.ending
	m.mu.Unlock()
	for ex != nil && !isClosed(ex.admitted) {
		// Its submit is still storing it: whether there is a run to cancel
		// depends on that (a failed insert means there never was one).
		// Answer once the outcome is known, as for whatever it left.
		m.log.Debug("cancel waits for the submit to be stored", "interaction_id", interactionID)
		select {
		case <-ex.admitted:
		case <-ctx.Done():
			return ctx.Err()
		}
		m.mu.Lock()
		ex = m.active[interactionID] // nil when refused; or a later submit of the same id
		ending = ex != nil && ex.ending
		m.mu.Unlock()
	}
	switch {
	case ending:
		// Its end is decided and being stored: cancelling now would say
		// "cancelling" of a run that ends completed. Answer as for a
		// finished one once the end is stored.
		select {
		case <-ex.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		// How it ended, which the store may not hold: an end that could
		// not be stored at all leaves the store saying running.
		return &finishedError{status: ex.End().Status}
	case ex != nil:
		m.log.Info("execution cancel requested", "interaction_id", interactionID, "execution_id", ex.id) // set before admitted closed
		ex.cancel(errCancelled)
		return nil
	}
	if _, err := m.store.Result(ctx, interactionID); err != nil {
		return err
	}
	return ErrFinished
}

// finishedError is ErrFinished with the status the execution ended with.
type finishedError struct{ status string }

func (e *finishedError) Error() string { return ErrFinished.Error() }
func (e *finishedError) Unwrap() error { return ErrFinished }

func (m *Manager) run(ex *Execution) {
	defer m.execWG.Done()
	log := m.log.With("interaction_id", ex.InteractionID, "execution_id", ex.id)

	// Wait for a worker slot.
	if status, reason := m.acquire(ex); status != "" {
		m.finish(ex, log, status, nil, reason, false)
		return
	}
	n := m.running.Add(1)
	for {
		p := m.peak.Load()
		if n <= p || m.peak.CompareAndSwap(p, n) {
			break
		}
	}

	start := time.Now()
	if err := m.store.markRunning(ex.id, start); err != nil {
		log.Error("store: mark running", "err", err)
		m.finish(ex, log, StatusStoreFailed, nil, "store: "+err.Error(), true)
		return
	}
	log.Info("execution running", "workflow", ex.WorkflowID)
	ex.logEvent(StatusRunning, "", 0, "running")

	in := ex.input
	for i, node := range ex.nodes {
		if err := context.Cause(ex.ctx); ex.ctx.Err() != nil {
			m.finish(ex, log, statusFor(err), nil, err.Error(), true)
			return
		}
		if err := m.store.nodeStarted(ex.id, i, node.ID, in, time.Now()); err != nil {
			log.Error("store: node started", "node", node.ID, "err", err)
			m.finish(ex, log, StatusStoreFailed, nil, "store: "+err.Error(), true)
			return
		}
		ex.logEvent("node_started", node.ID, i, fmt.Sprintf("node %s (%d/%d) started", node.ID, i+1, len(ex.nodes)))
		t0 := time.Now()
		out, err := runNode(ex.ctx, node, in)
		if err == nil && !json.Valid(out) {
			err = fmt.Errorf("node %s returned invalid JSON", node.ID)
		}
		if err != nil {
			status := StatusFailed
			if ex.ctx.Err() != nil {
				err = context.Cause(ex.ctx)
				status = statusFor(err)
			}
			if serr := m.store.nodeFinished(ex.id, i, status, nil, err.Error(), time.Now()); serr != nil {
				// Store, then stream: what was not stored is not streamed.
				log.Error("store: node finished", "node", node.ID, "err", serr)
				m.finish(ex, log, StatusStoreFailed, nil, fmt.Sprintf("node %s: %v; storing that failed: %v", node.ID, err, serr), true)
				return
			}
			log.Debug("node ended", "node", node.ID, "status", status, "err", err)
			ex.logEvent("node_"+status, node.ID, i, fmt.Sprintf("node %s %s: %v", node.ID, status, err))
			m.finish(ex, log, status, nil, fmt.Sprintf("node %s: %v", node.ID, err), true)
			return
		}
		// Store first, stream second.
		if err := m.store.nodeFinished(ex.id, i, StatusCompleted, out, "", time.Now()); err != nil {
			log.Error("store: node finished", "node", node.ID, "err", err)
			m.finish(ex, log, StatusStoreFailed, nil, "store: "+err.Error(), true)
			return
		}
		d := time.Since(t0)
		log.Debug("node completed", "node", node.ID, "duration", d)
		ex.publish("", NodeOutput{Type: "node_output", InteractionID: ex.InteractionID, NodeID: node.ID,
			Index: i, Total: len(ex.nodes), Output: out, DurationMS: d.Milliseconds()})
		ex.logEvent("node_completed", node.ID, i, fmt.Sprintf("node %s (%d/%d) completed", node.ID, i+1, len(ex.nodes)))
		in = out
	}
	m.finish(ex, log, StatusCompleted, in, "", true)
}

// grant hands ex a worker slot. Call with m.mu held.
func (m *Manager) grant(ex *Execution) {
	ex.granted = true
	close(ex.start)
}

// release returns a worker slot: to the longest-waiting execution if any,
// otherwise to the pool.
func (m *Manager) release() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.waiting) > 0 {
		next := m.waiting[0]
		m.waiting[0] = nil
		m.waiting = m.waiting[1:]
		m.grant(next)
		return
	}
	m.free++
}

// acquire waits until ex holds a worker slot. It returns ("", "") when it
// does and may run, or the status and reason to end it with: cancelled while
// queued, or interrupted because shutdown began (a queued execution is never
// started after that).
func (m *Manager) acquire(ex *Execution) (status, reason string) {
	select {
	case <-ex.start:
	case <-ex.ctx.Done():
	case <-m.closing:
	}
	m.mu.Lock()
	granted := ex.granted
	if !granted {
		if i := slices.Index(m.waiting, ex); i >= 0 {
			m.waiting = slices.Delete(m.waiting, i, i+1)
		}
	}
	m.mu.Unlock()
	m.queued.Add(-1)
	switch {
	case ex.ctx.Err() != nil:
		status, reason = statusFor(context.Cause(ex.ctx)), context.Cause(ex.ctx).Error()
	case isClosed(m.closing):
		status, reason = StatusInterrupted, errShutdown.Error()
	default:
		return "", ""
	}
	if granted {
		m.release()
	}
	return status, reason
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// runNode runs one node, turning a panic into an error.
func runNode(ctx context.Context, n Node, in json.RawMessage) (out json.RawMessage, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("node panicked: %v", r)
		}
	}()
	return n.Run(ctx, in)
}

func statusFor(cause error) string {
	switch {
	case errors.Is(cause, errCancelled):
		return StatusCancelled
	case errors.Is(cause, errShutdown):
		return StatusInterrupted
	}
	return StatusFailed
}

// finish stores the execution's end, frees its worker and its interaction
// id, then publishes the end event and starts the webhook delivery.
//
// When the end cannot be stored, the execution ends as store_failed: that
// is what the stream says (never the status it could not store), and the
// store is asked once more to record store_failed.
func (m *Manager) finish(ex *Execution, log *slog.Logger, status string, output json.RawMessage, errMsg string, holdsWorker bool) {
	m.mu.Lock()
	ex.ending = true
	m.mu.Unlock()
	now := time.Now()
	if err := m.store.finishExecution(ex.id, status, output, errMsg, now); err != nil {
		log.Error("store: finish execution", "status", status, "err", err)
		status, output = StatusStoreFailed, nil
		errMsg = fmt.Sprintf("the end of the execution could not be stored: %v", err)
		if err := m.store.finishExecution(ex.id, status, nil, errMsg, now); err != nil {
			log.Error("store: recording store_failed", "err", err)
		}
	}
	if holdsWorker {
		m.running.Add(-1)
		m.release()
	}
	m.mu.Lock()
	delete(m.active, ex.InteractionID)
	// Safe after Shutdown began: this goroutine is counted in execWG, and
	// Shutdown waits for execWG before it waits for hookWG.
	hook := ex.callbackURL != "" && status != StatusStoreFailed
	full := false
	if hook {
		if m.hooks.Add(1) > MaxPendingWebhooks {
			m.hooks.Add(-1)
			hook, full = false, true
		} else {
			m.hookWG.Add(1)
		}
	}
	m.mu.Unlock()
	switch {
	case full:
		m.setWebhook(log, ex.id, "failed", 0, fmt.Sprintf("not attempted: %d deliveries already pending", MaxPendingWebhooks))
	case ex.callbackURL != "" && status == StatusStoreFailed:
		m.setWebhook(log, ex.id, "failed", 0, "not attempted: the result could not be stored")
	}
	ex.cancel(nil)

	dur := now.Sub(ex.created)
	attrs := []any{"status", status, "duration", dur.Round(time.Millisecond)}
	if errMsg != "" {
		attrs = append(attrs, "err", errMsg)
	}
	if status == StatusFailed || status == StatusStoreFailed {
		log.Warn("execution ended", attrs...)
	} else {
		log.Info("execution ended", attrs...)
	}
	ex.publishEnd(EndEvent{InteractionID: ex.InteractionID, Status: status, Error: errMsg, Output: output, DurationMS: dur.Milliseconds()})
	select {
	case m.finished <- struct{}{}:
	default:
	}

	if hook {
		go m.deliver(ex, log)
	}
}

// Shutdown stops admitting executions, lets queued ones end as interrupted,
// waits for running ones until ctx is done, then interrupts the rest (each
// is stored as interrupted) and waits for them. Webhook deliveries get the
// same deadline. It returns when every goroutine the Manager started has
// ended; it does not close the Store.
func (m *Manager) Shutdown(ctx context.Context) {
	m.mu.Lock()
	if !m.closed {
		m.closed = true
		close(m.closing)
		m.log.Info("execution manager stopping", "running", m.running.Load(), "queued", m.queued.Load())
	}
	m.mu.Unlock()

	wait := func(wg *sync.WaitGroup, interrupt func()) {
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			interrupt()
			<-done
		}
	}
	wait(&m.execWG, func() {
		m.log.Warn("grace period over: interrupting running executions", "running", m.running.Load())
		m.execCancel(errShutdown)
	})
	m.execCancel(errShutdown)
	wait(&m.hookWG, m.hookCancel)
	m.hookCancel()
}

// Close interrupts whatever is still running and waits for every goroutine.
func (m *Manager) Close() {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	m.Shutdown(ctx)
}

// MaxInteractionID bounds an interaction_id (bytes).
const MaxInteractionID = 200

// validInteractionID accepts 1–200 bytes of valid UTF-8 without control
// characters, '/' or '\\', other than "." and "..": an id is a path segment
// of /results/{interaction_id} and must reach its result there.
func validInteractionID(id string) error {
	if id == "" {
		return errors.New("interaction_id is empty")
	}
	if len(id) > MaxInteractionID {
		return fmt.Errorf("interaction_id longer than %d bytes", MaxInteractionID)
	}
	if id == "." || id == ".." {
		return fmt.Errorf("interaction_id %q is a path segment of its own", id)
	}
	if !utf8.ValidString(id) {
		return errors.New("interaction_id is not valid UTF-8")
	}
	for _, r := range id {
		if unicode.IsControl(r) || r == '/' || r == '\\' || r == 0xfffd { // C0, DEL and C1 (U+0080–U+009F)
			return fmt.Errorf("interaction_id contains %q", r)
		}
	}
	return nil
}

func validCallbackURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("callback_url: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("callback_url %q: want an absolute http(s) URL", maskURL(s))
	}
	return nil
}
