// Package health probes a sidecar's HTTP health endpoints: the readiness
// probe that decides when a started sidecar is Ready, and the liveness probe
// that watches it afterwards. It knows HTTP, not processes.
package health

import (
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

// maxDrain is the most of a health answer's body read to keep its
// connection; a longer body costs a new connection, not the time to read it.
const maxDrain = 4 << 10

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
