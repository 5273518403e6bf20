// Package workflows is the Workflows panel of the app: pick a workflow from
// the xgen-workflow engine's catalogue, run it, watch its stream, disconnect
// in the middle (the run goes on in the engine) and fetch the stored result
// afterwards. The engine is the local sidecar (Service mode) or a remote
// gateway serving the same API (Connected mode), reached with a bearer
// token; see Endpoint.
//
// Threading: every exported method is called on the UI goroutine. Network
// calls run on goroutines owned by the panel (one per stream, one per short
// call); they touch widgets only through fyne.Do and all end on Close.
package workflows

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"outrigger/internal/workflow/wfapi"
	"outrigger/ui/uithread"
)

// runOnUI hands f to the UI goroutine (uithread.Do: never run elsewhere,
// even after the app loop ended). Tests replace it to serialise the
// hand-over with their own widget access (the test driver runs fyne.Do at
// once on the calling goroutine).
var runOnUI = uithread.Do

const (
	callTimeout = 15 * time.Second // every call but the stream
	maxEvents   = 2000             // rows kept in the stream list
)

// row is one line of the stream or result list.
type row struct {
	tag  string // short monospace tag: log, data, end, a node id, …
	text string
	imp  widget.Importance
}

// Endpoint is the engine the panel talks to. The zero Endpoint is none:
// the panel shows its placeholder.
type Endpoint struct {
	URL   string // base URL; the API's paths go below it
	Token string // bearer token sent on every request; "" sends none (a secret: never shown)
	// What names the engine for the user: "the local xgen-workflow", "the
	// gateway". TokenFrom says where the token came from (shown instead of
	// the token), "" when there is none.
	What, TokenFrom string
	// Waiting, without a URL, is the mode's engine not Ready yet, in the
	// user's words ("xgen-workflow is starting…"); the placeholder says it
	// instead of suggesting another mode.
	Waiting string
	// HTTP is the client; nil is wfapi.DefaultHTTP (TLS verified with the
	// system's roots). Only tests set it, to trust their own gateway.
	HTTP *http.Client
}

// Panel is the Workflows panel. Create it with New or NewEndpoint.
type Panel struct {
	endpoint func() Endpoint
	win      fyne.Window
	toUI     func(func()) // hands work to the UI goroutine

	ctx    context.Context // the panel's lifetime; Close cancels it
	cancel context.CancelFunc
	mu     sync.Mutex // guards closed and wg.Add against Close
	closed bool
	wg     sync.WaitGroup

	// UI-goroutine state.
	workflows  []wfapi.WorkflowInfo
	loadGen    int // catalogue loads; a stale reply is dropped
	runGen     int // runs; events of an earlier stream are dropped
	fetchGen   int
	runID      string             // interaction id of the latest run
	ended      bool               // the latest run is known to be over: nothing to cancel
	shown      Endpoint           // the engine the shown run and stream belong to
	stopStream context.CancelFunc // non-nil while a stream is live
	events     []row
	results    []row

	w widgets
}

// New builds the panel for a local engine at baseURL() ("" when there is
// none); it loads nothing until Refresh.
func New(baseURL func() string, w fyne.Window) *Panel {
	return NewEndpoint(func() Endpoint {
		if u := baseURL(); u != "" {
			return Endpoint{URL: u, What: "the local xgen-workflow"}
		}
		return Endpoint{}
	}, w, nil)
}

// NewEndpoint builds the panel for the engine endpoint() names, asked
// again on each Refresh (UI goroutine); it loads nothing until Refresh.
// do hands the panel's results to the UI goroutine: the app's own (which
// drops work once the app loop has ended), or nil for fyne.Do.
func NewEndpoint(endpoint func() Endpoint, w fyne.Window, do func(func())) *Panel {
	ctx, cancel := context.WithCancel(context.Background())
	p := &Panel{endpoint: endpoint, win: w, toUI: do, ctx: ctx, cancel: cancel}
	p.build()
	return p
}

// Object is the panel's root.
func (p *Panel) Object() fyne.CanvasObject { return p.w.root }

// Refresh reloads the catalogue and the engine status, or shows the
// placeholder when the engine is not available (an Endpoint without URL).
func (p *Panel) Refresh() {
	ep := p.endpoint()
	if ep != p.shown {
		// Another engine, another token (or none): the old run and its
		// stream are not its business.
		p.disconnect()
		p.clearRun()
		p.shown = ep
		p.showEndpoint(ep)
	}
	if ep.URL == "" {
		p.showPlaceholder(ep)
		return
	}
	p.w.placeholder.Hide()
	p.w.content.Show()
	p.loadGen++
	gen := p.loadGen
	p.w.engine.SetText("Loading the catalogue…")
	p.spawn(func(ctx context.Context) {
		c := client(ep)
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		defer cancel()
		wfs, err := c.Workflows(cctx)
		var st wfapi.ExecStatus
		serr := err
		if err == nil {
			st, serr = c.Status(cctx)
		}
		p.do(func() {
			if gen != p.loadGen {
				return
			}
			if err != nil {
				p.w.engine.SetText(failHead(err))
				p.setError("Could not load the catalogue: " + errText(err))
				return
			}
			p.setError("")
			p.setCatalogue(wfs)
			p.showStatus(st, serr)
		})
	})
}

// Close disconnects a live stream and waits until every goroutine the panel
// started has ended. The panel does nothing afterwards.
func (p *Panel) Close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.cancel()
	p.wg.Wait()
}

// spawn runs f on a goroutine owned by the panel (none after Close).
func (p *Panel) spawn(f func(ctx context.Context)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		f(p.ctx)
	}()
}

// do runs f on the UI goroutine unless the panel has been closed.
func (p *Panel) do(f func()) {
	to := runOnUI
	if p.toUI != nil {
		to = p.toUI
	}
	to(func() {
		if p.ctx.Err() == nil {
			f()
		}
	})
}

func client(ep Endpoint) *wfapi.Client {
	return &wfapi.Client{BaseURL: ep.URL, Token: ep.Token, HTTP: ep.HTTP}
}

func newInteractionID() string {
	var b [6]byte
	rand.Read(b[:])
	return "ui_" + time.Now().Format("150405") + "_" + hex.EncodeToString(b[:])
}

// ---- catalogue ----

func (p *Panel) setCatalogue(wfs []wfapi.WorkflowInfo) {
	p.workflows = wfs
	ids := make([]string, len(wfs))
	for i, wf := range wfs {
		ids[i] = wf.ID
	}
	prev := p.w.sel.Selected
	p.w.sel.SetOptions(ids)
	if wf, ok := p.selected(); ok && prev != "" {
		p.showInfo(wf) // keep the user's input
	} else if len(ids) > 0 {
		p.w.sel.SetSelected(ids[0]) // prefills through onSelect
	} else {
		p.w.sel.ClearSelected()
		p.showInfo(wfapi.WorkflowInfo{Description: "The engine lists no workflows."})
	}
	p.updateButtons()
}

func (p *Panel) selected() (wfapi.WorkflowInfo, bool) {
	for _, wf := range p.workflows {
		if wf.ID == p.w.sel.Selected {
			return wf, true
		}
	}
	return wfapi.WorkflowInfo{}, false
}

func (p *Panel) onSelect(string) {
	wf, ok := p.selected()
	if !ok {
		return
	}
	p.showInfo(wf)
	p.w.input.SetText(compact(wf.ExampleInput, 0))
	if p.stopStream == nil || p.ended {
		// The last run's stream belongs to the other workflow (a stream
		// whose end arrived may still be closing: let it go).
		p.disconnect()
		p.clearRun()
	}
	p.updateButtons()
}

// clearRun forgets the shown run: stream, result, id. UI goroutine.
func (p *Panel) clearRun() {
	p.runGen++
	p.fetchGen++
	p.runID, p.ended = "", false
	p.events, p.results = p.events[:0], nil
	p.w.id.SetText("none yet")
	p.w.events.Refresh()
	p.w.results.Refresh()
	p.w.resultHead.Importance = widget.MediumImportance
	p.w.resultHead.SetText("Not fetched yet.")
	p.setError("")
	p.setState("Pick a workflow and press Run.")
	p.updateButtons()
}

func (p *Panel) showInfo(wf wfapi.WorkflowInfo) {
	p.w.desc.ParseMarkdown(wf.Description)
	p.w.hint.SetText(inputHint(wf.InputSchema))
}

// ---- run, disconnect ----

func (p *Panel) run() {
	if p.ctx.Err() != nil {
		return // closed
	}
	ep := p.endpoint()
	if ep != p.shown || ep.URL == "" {
		p.Refresh() // the engine changed under the shown catalogue
		return
	}
	wf, ok := p.selected()
	if !ok {
		p.setError("Pick a workflow first.")
		return
	}
	in := strings.TrimSpace(p.w.input.Text)
	if in == "" {
		in = "{}"
	}
	if !json.Valid([]byte(in)) {
		p.setError("The input is not valid JSON.")
		return
	}
	p.disconnect()
	p.runGen++
	p.fetchGen++
	gen, id := p.runGen, newInteractionID()
	p.runID, p.ended = id, false
	p.w.id.SetText(id)
	p.events, p.results = p.events[:0], nil
	p.w.events.Refresh()
	p.w.results.Refresh()
	p.w.resultHead.Importance = widget.MediumImportance
	p.w.resultHead.SetText("Not fetched yet.")
	p.setError("")
	p.setState("Starting " + wf.ID + "…")
	ctx, stop := context.WithCancel(p.ctx)
	p.stopStream = stop
	p.updateButtons()

	p.spawn(func(life context.Context) {
		defer stop()
		c := client(ep)
		var end *wfapi.EndEvent
		err := c.Stream(ctx, wf.ID, json.RawMessage(in), id, func(ev wfapi.StreamEvent) {
			if ev.End != nil {
				end = ev.End
			}
			r, isEnd := eventRow(ev), ev.End != nil
			p.do(func() {
				if gen == p.runGen && p.stopStream != nil { // not after Disconnect
					p.addEvent(r)
					if isEnd {
						p.ended = true // nothing left to cancel
						p.updateButtons()
					}
				}
			})
			// The engine's counts change when the run does (queued, then
			// running; ended: after the stream), not with its node
			// outputs: one status call per change, never one per event
			// (each held up this reader). On this goroutine, so that the
			// answers are shown in order and the one after the end is last.
			if ev.Log != nil && (ev.Log.Status == wfapi.StatusQueued || ev.Log.Status == wfapi.StatusRunning) {
				p.pollStatus(ctx, c)
			}
		})
		p.do(func() {
			if gen != p.runGen {
				return
			}
			p.stopStream = nil
			p.streamEnded(end, err)
			p.updateButtons()
		})
		p.pollStatus(life, c)
	})
}

// disconnect cancels the live stream, if any; the run goes on in the engine.
func (p *Panel) disconnect() {
	if p.stopStream == nil {
		return
	}
	p.stopStream()
	p.stopStream = nil
	p.setState("Disconnected. The run goes on in the engine: Fetch result to see it.")
	p.updateButtons()
}

func (p *Panel) addEvent(r row) {
	if len(p.events) >= maxEvents {
		p.events = append(p.events[:0], p.events[len(p.events)-maxEvents/2:]...)
	}
	p.events = append(p.events, r)
	p.w.events.Refresh()
	// ScrollTo, not ScrollToBottom: the latter uses the content height of
	// the last layout, one row short right after a Refresh.
	p.w.events.ScrollTo(len(p.events) - 1)
	p.setState(fmt.Sprintf("Streaming, %d events. Disconnect leaves the run going.", len(p.events)))
}

func (p *Panel) streamEnded(end *wfapi.EndEvent, err error) {
	switch {
	case err == nil && end != nil:
		p.ended = true
		msg := "Stream ended: " + end.Status
		if end.Error != "" {
			msg += " (" + end.Error + ")"
		}
		p.setState(msg + ". Fetch result for every node's output.")
	case err == nil:
		// An end event whose data did not decode: the engine (or a
		// gateway in front of it) said the run ended, not how.
		p.ended = true
		p.setState("Stream ended, with an end event that could not be read. Fetch result to see what was stored.")
	case errors.Is(err, context.Canceled):
		p.setState("Disconnected. The run goes on in the engine: Fetch result to see it.")
	case errors.Is(err, wfapi.ErrStreamEnded):
		p.setState("The stream broke off (did the engine stop?). Fetch result to see what was stored.")
	case errors.Is(err, wfapi.ErrQueueFull):
		p.setState("Not started.")
		p.setError("The engine is busy (its queue is full); try again shortly.")
	default:
		p.setState("Not started.")
		p.setError("Run failed: " + errText(err))
	}
}

// ---- result, cancel, status ----

func (p *Panel) fetch() {
	ep, id := p.shown, p.runID
	if ep.URL == "" || id == "" {
		return
	}
	p.fetchGen++
	gen := p.fetchGen
	p.w.resultHead.SetText("Fetching…")
	p.spawn(func(ctx context.Context) {
		c := client(ep)
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		defer cancel()
		res, err := c.Result(cctx, id)
		p.do(func() {
			if gen == p.fetchGen {
				p.showResult(res, err)
			}
		})
		p.pollStatus(ctx, c)
	})
}

func (p *Panel) showResult(res wfapi.Result, err error) {
	head := p.w.resultHead
	p.results = nil
	switch {
	case errors.Is(err, wfapi.ErrNotFound):
		head.SetText("The engine has no result for " + p.runID + " yet.")
		head.Importance = widget.WarningImportance
	case err != nil:
		head.SetText("Could not fetch the result: " + errText(err))
		head.Importance = widget.DangerImportance
	default:
		head.SetText(resultHead(res))
		head.Importance = statusImportance(res.Status)
		if wfapi.Terminal(res.Status) {
			p.ended = true
			p.updateButtons()
		}
		p.results = resultRows(res)
	}
	head.Refresh()
	p.w.results.Refresh()
}

func (p *Panel) cancelRun() {
	ep, id := p.shown, p.runID
	if ep.URL == "" || id == "" {
		return
	}
	p.spawn(func(ctx context.Context) {
		c := client(ep)
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		defer cancel()
		err := c.Cancel(cctx, id)
		p.do(func() {
			if id != p.runID {
				return
			}
			var he *wfapi.HTTPError
			switch {
			case err == nil:
				p.setError("")
				p.setState("Cancel requested. Fetch result to see it stored as cancelled.")
			case errors.Is(err, wfapi.ErrFinished) && errors.As(err, &he):
				p.ended = true
				p.updateButtons()
				p.setState("The run had already ended (" + he.Status + "): nothing to cancel.")
			case errors.Is(err, wfapi.ErrNotFound):
				p.setError("Nothing to cancel: the engine does not know " + id + ".")
			default:
				p.setError("Cancel failed: " + errText(err))
			}
		})
		p.pollStatus(ctx, c)
	})
}

// pollStatus fetches the engine status on the calling (panel) goroutine and
// shows it, unless ctx ends first.
func (p *Panel) pollStatus(ctx context.Context, c *wfapi.Client) {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	st, err := c.Status(cctx)
	cancel()
	if ctx.Err() != nil {
		return
	}
	p.do(func() { p.showStatus(st, err) })
}

func (p *Panel) showStatus(st wfapi.ExecStatus, err error) {
	if err != nil {
		p.w.engine.SetText("Engine status unavailable: " + errText(err))
		return
	}
	p.w.engine.SetText(fmt.Sprintf("Engine: %d running · %d queued · %d max workers", st.Running, st.Queued, st.MaxWorkers))
}

// ---- small UI helpers ----

func (p *Panel) setError(msg string) {
	p.w.err.SetText(msg)
	if msg == "" {
		p.w.err.Hide()
	} else {
		p.w.err.Show()
	}
}

func (p *Panel) setState(msg string) { p.w.state.SetText(msg) }

func (p *Panel) updateButtons() {
	live := p.stopStream != nil
	_, picked := p.selected()
	enable(p.w.run, picked && !live)
	enable(p.w.disconnect, live)
	enable(p.w.fetch, p.runID != "")
	enable(p.w.cancelRun, p.runID != "" && !p.ended)
	enable(p.w.copyID, p.runID != "")
}

func enable(b *widget.Button, on bool) {
	if on {
		b.Enable()
	} else {
		b.Disable()
	}
}

// failHead is the engine bar's word for a catalogue that would not load.
func failHead(err error) string {
	switch {
	case errors.Is(err, wfapi.ErrRefused):
		return "The gateway refused the token"
	case errors.Is(err, wfapi.ErrUntrusted):
		return "Certificate not trusted"
	case errors.Is(err, wfapi.ErrPlaintext):
		return "Not sent: plain http"
	}
	return "Engine not reachable"
}

// errText says what went wrong and, for what the user can fix here, how.
func errText(err error) string {
	var he *wfapi.HTTPError
	switch {
	case errors.Is(err, wfapi.ErrRefused):
		return err.Error() + ". Check the gateway token beside the gateway URL (Connected mode)."
	case errors.Is(err, wfapi.ErrUntrusted):
		return err.Error() + ". The gateway needs a certificate from an authority this system trusts; add its CA to the system's certificates."
	case errors.Is(err, wfapi.ErrPlaintext):
		return err.Error() + "."
	case errors.As(err, &he):
		return fmt.Sprintf("%d %s", he.StatusCode, he.Message)
	}
	return err.Error()
}
