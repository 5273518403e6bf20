package health

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"
)

// Prober is the liveness probe of one URL over one kept connection. Through
// an http.Client each probe is handed between the caller and the
// transport's two goroutines per connection, and those goroutines live as
// long as the connection: with 50 sidecars probed every 10 s that was all of
// the app's CPU while idle. A Prober writes one fixed request and reads the
// answer with http.ReadResponse on the caller's goroutine: a write and a
// read per probe, no dial while the server keeps the connection, and no
// goroutine of its own. It is not safe for concurrent use (one per probing
// goroutine); Close it when done.
type Prober struct {
	url  string
	addr string
	req  []byte        // "GET <path> HTTP/1.1" with Host: the bytes written per probe
	get  *http.Request // what ReadResponse is answering
	conn net.Conn
	br   *bufio.Reader
}

// NewProber prepares probes of rawURL (http only).
func NewProber(rawURL string) (*Prober, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("health: %w", err)
	}
	if u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("health: %s: want an http:// URL", rawURL)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	get, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("health: %w", err)
	}
	req := "GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host + "\r\nUser-Agent: outrigger-probe\r\n\r\n"
	return &Prober{url: rawURL, addr: addr, req: []byte(req), get: get}, nil
}

// Check probes once; the answer must come within timeout. A kept connection
// the server has closed meanwhile is replaced once, at no cost to the
// verdict.
func (p *Prober) Check(ctx context.Context, timeout time.Duration) Result {
	reused := p.conn != nil
	r, fresh := p.try(ctx, timeout)
	if !r.OK && reused && !fresh && ctx.Err() == nil && !errors.Is(r.Err, os.ErrDeadlineExceeded) {
		r, _ = p.try(ctx, timeout) // the old connection was stale: once more on a new one
	}
	return r
}

// try makes one request; fresh reports that it failed on a new connection
// (or got an answer), so trying again would not help.
func (p *Prober) try(ctx context.Context, timeout time.Duration) (r Result, fresh bool) {
	if err := ctx.Err(); err != nil {
		return Result{Err: err}, true
	}
	deadline := time.Now().Add(timeout)
	if p.conn == nil {
		d := net.Dialer{Deadline: deadline}
		c, err := d.DialContext(ctx, "tcp", p.addr)
		if err != nil {
			return Result{Err: err}, true
		}
		p.conn = c
		if p.br == nil {
			p.br = bufio.NewReaderSize(c, 1024)
		} else {
			p.br.Reset(c)
		}
		fresh = true
	}
	c := p.conn
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) }) // a cancelled run ends its probe now
	defer stop()
	_ = c.SetDeadline(deadline)
	if _, err := c.Write(p.req); err != nil {
		p.drop()
		return Result{Err: err}, fresh
	}
	resp, err := http.ReadResponse(p.br, p.get)
	if err != nil {
		p.drop()
		return Result{Err: err}, fresh
	}
	n, err := io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain+1))
	resp.Body.Close()
	if err != nil || n > maxDrain || resp.Close {
		p.drop() // not reusable: the next probe dials
	}
	if p.conn != nil {
		// The deadline is a timer in the runtime's poller: left armed, it
		// would wake the idle app once more after every probe, for nothing.
		_ = c.SetDeadline(time.Time{})
	}
	if !Healthy(resp.StatusCode) {
		return Result{Status: resp.StatusCode, Err: fmt.Errorf("%s answered %d", p.url, resp.StatusCode)}, true
	}
	return Result{OK: true, Status: resp.StatusCode}, true
}

func (p *Prober) drop() {
	if p.conn != nil {
		_ = p.conn.Close()
		p.conn = nil
	}
}

// Close closes the kept connection.
func (p *Prober) Close() { p.drop() }

// Probes is the readiness probe: a base URL's health paths tried in order,
// as Check does, each over its own Prober.
type Probes struct {
	base    string
	paths   []string
	probers []*Prober
}

// NewProbes prepares probes of baseURL+path for each path.
func NewProbes(baseURL string, paths []string) *Probes {
	return &Probes{base: baseURL, paths: paths, probers: make([]*Prober, len(paths))}
}

// Check tries the paths in order and returns the first healthy answer, or
// the last answer; when nothing answers at all the other paths are not
// tried (they would not fare better). Each probe may take at most timeout.
func (ps *Probes) Check(ctx context.Context, timeout time.Duration) Result {
	var last Result
	for i, path := range ps.paths {
		if ps.probers[i] == nil {
			p, err := NewProber(ps.base + path)
			if err != nil {
				return Result{Path: path, Err: err}
			}
			ps.probers[i] = p
		}
		last = ps.probers[i].Check(ctx, timeout)
		last.Path = path
		if last.OK || ctx.Err() != nil || last.Status == 0 {
			return last
		}
	}
	if len(ps.paths) == 0 {
		last.Err = fmt.Errorf("no health paths")
	}
	return last
}

// Close closes every kept connection.
func (ps *Probes) Close() {
	for _, p := range ps.probers {
		if p != nil {
			p.Close()
		}
	}
}
