package modes

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
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

func (c *Controller) startGateway(u string) {
	ctx, cancel := context.WithCancel(c.runCtx)
	g := &gateway{url: u, cancel: cancel, done: make(chan struct{})}
	c.mu.Lock()
	c.gwSeq++
	seq := c.gwSeq
	c.reach = reach{}
	c.mu.Unlock()
	c.gw = g
	go func() {
		defer close(g.done)
		timer := time.NewTimer(0) // the first check at once
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
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if !health.Healthy(resp.StatusCode) {
		return fmt.Errorf("%s answered %s", u, resp.Status)
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
	msg := "gateway " + u + " is unreachable"
	if r.err != nil {
		msg += ": " + r.err.Error()
	}
	return Event{Kind: Unreachable, Mode: c.mode, Message: msg, Err: r.err, Time: at}
}
