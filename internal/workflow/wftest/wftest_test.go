package wftest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"outrigger/internal/workflow/wfapi"
)

// The gateway carries a stream whose request body the transport reads for
// the last time after the engine's answer has reached the client: what a
// loaded machine does now and then (golang/go#40747), done here every time
// by holding that read until the first flush. Without full duplex the read
// finds the body closed and the stream is cut ("unexpected EOF").
func TestGatewayLateBodyReadKeepsStream(t *testing.T) {
	var late atomic.Int64
	testHookForward = func(w http.ResponseWriter, r *http.Request) (http.ResponseWriter, *http.Request) {
		fw := &flushSignal{ResponseWriter: w, flushed: make(chan struct{})}
		r.Body = &lateEOF{ReadCloser: r.Body, left: r.ContentLength, flushed: fw.flushed, late: &late}
		return fw, r
	}
	t.Cleanup(func() { testHookForward = nil })

	const token = "late-read-token"
	g := NewGateway(t, Engine(t), token)
	c := &wfapi.Client{BaseURL: g.URL, Token: token, HTTP: wfapi.NewHTTPClient(g.Pool)}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := c.Stream(ctx, "pipeline", json.RawMessage(`{"text":"x","delay_ms":0,"nodes":1}`), "late_read", nil); err != nil {
		t.Fatalf("stream through the gateway: %v", err)
	}
	if late.Load() == 0 {
		t.Fatal("no body read waited for the answer's first flush: the test did not test the race")
	}
}

// flushSignal closes flushed after the first flush reached the client.
type flushSignal struct {
	http.ResponseWriter
	once    sync.Once
	flushed chan struct{}
}

func (f *flushSignal) FlushError() error {
	err := http.NewResponseController(f.ResponseWriter).Flush()
	f.once.Do(func() { close(f.flushed) })
	return err
}

func (f *flushSignal) Unwrap() http.ResponseWriter { return f.ResponseWriter }

// lateEOF passes the body through; a read asked for after the declared
// length was delivered waits for the answer's first flush (at most 10 s,
// so a change in net/http cannot hang the test).
type lateEOF struct {
	io.ReadCloser
	left    int64
	flushed <-chan struct{}
	late    *atomic.Int64
}

func (b *lateEOF) Read(p []byte) (int, error) {
	if b.left <= 0 {
		select {
		case <-b.flushed:
			b.late.Add(1)
		case <-time.After(10 * time.Second):
		}
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}
