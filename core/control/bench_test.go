//go:build unix

package control

import (
	"context"
	"fmt"
	"io"
	"slices"
	"testing"
	"time"

	"outrigger/core/config"
)

// percentiles reports p50 and p99 of ds in milliseconds.
func percentiles(b *testing.B, ds []time.Duration, unit string) {
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	at := func(p float64) float64 {
		i := int(p * float64(len(ds)-1))
		return float64(ds[i]) / float64(time.Millisecond)
	}
	b.ReportMetric(at(0.50), "p50-"+unit)
	b.ReportMetric(at(0.99), "p99-"+unit)
	b.ReportMetric(0, "ns/op") // the percentiles are the result
}

// GET /v1/sidecars with 50 sidecars over the instance socket, one request
// per iteration on a kept-alive connection (the CLI and scripts make one
// request per connection; see BenchmarkCLIStatus in package main for the
// whole command).
func BenchmarkSidecarsList50(b *testing.B) {
	var specs []config.Spec
	for i := range 50 {
		s := fixtureSpec(b, fmt.Sprintf("sidecar-%02d", i))
		s.Port = 20000 + i // never started: distinct ports are all the config needs
		specs = append(specs, s)
	}
	r := newRig(b, rigOpts{}, specs...)
	get := func() {
		resp, err := r.client.Get("http://localhost/v1/sidecars")
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || n < 50*200 {
			b.Fatalf("%d, %d bytes", resp.StatusCode, n)
		}
	}
	get() // the connection
	ds := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		get()
		ds = append(ds, time.Since(start))
	}
	b.StopTimer()
	percentiles(b, ds, "ms")
}

// A state change reaches an SSE client: from the moment the sidecar's
// goroutine published it (the event's time) to the client having parsed
// it. Each iteration restarts a fixture sidecar (stopping, starting, ready:
// three state changes).
func BenchmarkEventDelivery(b *testing.B) {
	r := newRig(b, rigOpts{start: true}, fixtureSpec(b, "alpha"))
	ev := r.subscribe("/v1/events")
	ev.await(b, "the snapshot", func(e Event) bool { return e.Type == "modeChanged" })
	var ds []time.Duration
	b.ResetTimer()
	for range b.N {
		if err := r.sup.Restart(context.Background(), "alpha"); err != nil {
			b.Fatal(err)
		}
		for {
			e := ev.await(b, "a state change", func(e Event) bool { return e.Sidecar == "alpha" })
			ds = append(ds, time.Since(e.Time))
			if e.Status.State == "ready" {
				break
			}
		}
	}
	b.StopTimer()
	percentiles(b, ds, "ms")
}
