package workflow

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkHealthWhileFull measures GET /health over a keep-alive
// connection while every worker runs a workflow and the queue is full.
// Reports p50/p99/max latency in µs besides ns/op.
func BenchmarkHealthWhileFull(b *testing.B) {
	const workers, queued = 10, 10
	ts := startService(b, func(o *Options) { o.MaxWorkers = workers; o.MaxQueued = queued; o.ShutdownGrace = time.Millisecond })
	for i := range workers + queued {
		leave(b, ts.Client, "pipeline", raw(`{"delay_ms":60000,"nodes":1}`), fmt.Sprintf("full-%d", i))
	}
	waitStatus(b, ts.Client, func(s ExecStatus) bool { return s.Running == workers && s.Queued == queued }, "cap and queue full")

	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	defer hc.CloseIdleConnections()
	get := func() {
		resp, err := hc.Get(ts.URL + "/health")
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("health: %s", resp.Status)
		}
	}
	get() // open the connection
	lat := make([]time.Duration, 0, 1<<16)
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		get()
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	reportPercentiles(b, lat)
	if s := ts.Manager().Status(); s.Running != workers {
		b.Fatalf("running %d during the benchmark, want %d", s.Running, workers)
	}
}

func reportPercentiles(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Nanoseconds()) / 1e3
	}
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
	b.ReportMetric(float64(lat[len(lat)-1].Nanoseconds())/1e3, "max-µs")
}

// BenchmarkEchoExecutions runs the echo workflow end to end through
// POST /deploy/stream (json reply when done): admission, the SQLite writes
// (meta queued/running/ended, node input, node output) and the reply.
// "sequential" is one client; "parallel" is 4×GOMAXPROCS clients. Reports
// executions per second.
func BenchmarkEchoExecutions(b *testing.B) {
	run := func(b *testing.B, parallel bool) {
		ts := startService(b, func(o *Options) { o.MaxWorkers = 10; o.MaxQueued = 1000 })
		hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		defer hc.CloseIdleConnections()
		c := &Client{BaseURL: ts.URL, HTTP: hc}
		var seq, failed atomic.Int64
		one := func() {
			id := fmt.Sprintf("bench-%d", seq.Add(1))
			r, err := c.Deploy(context.Background(), RunRequest{WorkflowID: "echo",
				Input: raw(`{"text":"bench me","mode":"both"}`), InteractionID: id})
			if err != nil || r.Status != StatusCompleted {
				failed.Add(1)
			}
		}
		b.ResetTimer()
		t0 := time.Now()
		if parallel {
			b.SetParallelism(4)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					one()
				}
			})
		} else {
			for range b.N {
				one()
			}
		}
		el := time.Since(t0)
		b.StopTimer()
		if n := failed.Load(); n > 0 {
			b.Fatalf("%d executions failed", n)
		}
		b.ReportMetric(float64(b.N)/el.Seconds(), "exec/s")
	}
	b.Run("sequential", func(b *testing.B) { run(b, false) })
	b.Run("parallel", func(b *testing.B) { run(b, true) })
}
