package modes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"time"

	"outrigger/core/health"
)

// gateway is the periodic /health check of Connected mode. It is started
// and stopped only by Run's goroutine, which waits for it to end.
type gateway struct {
	url    string
	cancel context.CancelFunc
	done   chan struct{}
}

// startGateway starts the periodic check of u. checked, when not nil, is
// the answer of a check made just before (the switch asked first): it is
// reported at once and the next check waits a whole interval.
func (c *Controller) startGateway(u string, checked *error) {
	ctx, cancel := context.WithCancel(c.runCtx)
	g := &gateway{url: u, cancel: cancel, done: make(chan struct{})}
	c.mu.Lock()
	c.gwSeq++
	seq := c.gwSeq
	c.reach = reach{}
	c.mu.Unlock()
	c.gw = g
	first := time.Duration(0) // the first check at once
	if checked != nil {
		c.report(seq, u, *checked)
		first = c.interval
	}
	go func() {
		defer close(g.done)
		timer := time.NewTimer(first)
		defer timer.Stop()
		for {
			select {
			case <-timer.C:
			case <-ctx.Done():
				return
			}
			err := c.checkGateway(ctx, u)
			if ctx.Err() != nil {
				return
			}
			c.report(seq, u, err)
			timer.Reset(c.interval)
		}
	}()
}

func (c *Controller) stopGateway() {
	if c.gw == nil {
		return
	}
	c.gw.cancel()
	<-c.gw.done
	c.gw = nil
	c.mu.Lock()
	c.gwSeq++
	c.reach = reach{}
	c.mu.Unlock()
}

// checkGateway asks base's /health; nil means reachable (2xx, as for the
// sidecars' probes).
func (c *Controller) checkGateway(ctx context.Context, base string) error {
	u, err := url.JoinPath(base, "health")
	if err != nil {
		return fmt.Errorf("gateway URL %q: %w", base, err)
	}
	ctx, cancel := context.WithTimeout(ctx, gatewayTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	if c.opts.Authorize != nil {
		if err := c.opts.Authorize(req); err != nil {
			return err
		}
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if !health.Healthy(resp.StatusCode) {
		return &statusError{status: resp.Status}
	}
	return nil
}

// report records a check and sends Reachable / Unreachable for the first
// answer and whenever it changes. Results of a check that was stopped or
// replaced meanwhile are dropped.
func (c *Controller) report(seq int, u string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if seq != c.gwSeq {
		return
	}
	ok := err == nil
	first := c.reach.checked.IsZero()
	changed := first || c.reach.ok != ok
	c.reach = reach{ok: ok, checked: time.Now(), err: err}
	if !changed {
		return
	}
	if ok {
		c.log.Info("mode: gateway is reachable", "url", u)
	} else {
		c.log.Warn("mode: gateway is unreachable", "url", u, "err", err)
	}
	c.emitLocked(c.reachEvent(c.reach, u, c.reach.checked))
}

func (c *Controller) reachEvent(r reach, u string, at time.Time) Event {
	if r.ok {
		return Event{Kind: Reachable, Mode: c.mode, Message: "gateway " + u + " is reachable", Time: at}
	}
	err := &GatewayError{URL: u, Err: r.err}
	return Event{Kind: Unreachable, Mode: c.mode, Message: err.Error(), Err: err, Time: at}
}

// GatewayError is a gateway that did not answer its /health check. It is
// ErrGatewayUnreachable for errors.Is; Err is the cause.
type GatewayError struct {
	URL string
	Err error
}

// Error says it once, in words a user can act on: "gateway
// https://xgen.example.com does not answer (connection refused)".
func (e *GatewayError) Error() string {
	return "gateway " + e.URL + " does not answer (" + gatewayProblem(e.Err) + ")"
}

func (e *GatewayError) Unwrap() error { return e.Err }

func (e *GatewayError) Is(target error) bool { return target == ErrGatewayUnreachable }

// gatewayProblem is the short cause of a failed check, without the URL the
// message already names.
func gatewayProblem(err error) string {
	var dns *net.DNSError
	var status *statusError
	var ne net.Error
	switch {
	case err == nil:
		return "no answer"
	case errors.As(err, &status):
		return "it answered " + status.status
	case errors.As(err, &dns):
		return "host " + dns.Name + " not found"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "no answer within " + gatewayTimeout.String()
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return uerr.Err.Error()
	}
	return err.Error()
}

// statusError is a /health that answered with a status that is not 2xx.
type statusError struct{ status string }

func (e *statusError) Error() string { return "answered " + e.status }
