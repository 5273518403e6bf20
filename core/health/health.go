// Package health probes a sidecar's HTTP health endpoints: the readiness
// probe that decides when a started sidecar is Ready, and the liveness probe
// that watches it afterwards. It knows HTTP, not processes.
package health

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Result is the outcome of one probe.
type Result struct {
	OK     bool
	Path   string // the path that answered healthy, or the last one tried
	Status int    // HTTP status of Path, 0 when no answer
	Err    error  // why it is not OK
}

// Healthy reports whether an HTTP status counts as healthy: any 2xx, and 307
// (FastAPI redirects "/docs" and "/" that way).
func Healthy(status int) bool {
	return (status >= 200 && status < 300) || status == http.StatusTemporaryRedirect
}

// Client is an HTTP client for probing loopback services: no proxy, no
// redirects followed (a 307 is an answer), small idle pool.
func Client() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:               nil,
			MaxIdleConnsPerHost: 2,
			IdleConnTimeout:     30 * time.Second,
			DisableCompression:  true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Check tries paths in order against baseURL and returns the first healthy
// answer; each request may take at most timeout.
func Check(ctx context.Context, c *http.Client, baseURL string, paths []string, timeout time.Duration) Result {
	var last Result
	for _, p := range paths {
		last = checkOne(ctx, c, baseURL+p, timeout)
		last.Path = p
		if last.OK || ctx.Err() != nil {
			return last
		}
		if last.Status == 0 {
			// Nothing is listening (or it hangs): the other paths will
			// not fare better, so do not spend their timeouts too.
			return last
		}
	}
	if len(paths) == 0 {
		last.Err = fmt.Errorf("no health paths")
	}
	return last
}

// maxDrain is the most of a health answer's body read to keep its
// connection; a longer body costs a new connection, not the time to read it.
const maxDrain = 4 << 10

func checkOne(ctx context.Context, c *http.Client, url string, timeout time.Duration) Result {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Result{Err: err}
	}
	resp, err := c.Do(req)
	if err != nil {
		return Result{Err: err}
	}
	// Read the (small) body to its end: only then does the transport keep
	// the connection for the next probe instead of dialling anew each time.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	resp.Body.Close()
	if !Healthy(resp.StatusCode) {
		return Result{Status: resp.StatusCode, Err: fmt.Errorf("%s answered %d", url, resp.StatusCode)}
	}
	return Result{OK: true, Status: resp.StatusCode}
}

// Backoff yields the readiness probe schedule: a first probe after First,
// then intervals growing by Factor up to Max.
type Backoff struct {
	First, Max time.Duration
	Factor     float64
	next       time.Duration
}

// ReadinessSchedule is the SPEC's: first after ~25 ms, growing to 1 s.
func ReadinessSchedule() *Backoff {
	return &Backoff{First: 25 * time.Millisecond, Max: time.Second, Factor: 1.5}
}

// Next returns the wait before the next probe.
func (b *Backoff) Next() time.Duration {
	if b.next == 0 {
		b.next = b.First
		return b.next
	}
	b.next = time.Duration(float64(b.next) * b.Factor)
	if b.next > b.Max {
		b.next = b.Max
	}
	return b.next
}
