package wfapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"outrigger/internal/workflow/wfapi"
)

// A stream whose connection breaks before the end event (the engine died,
// or a proxy cut it) is ErrStreamEnded, with the read error in its text:
// what a caller (the Workflows panel) tells apart from a run that was
// refused. It was the bare read error ("unexpected EOF").
func TestStreamBrokenOffIsStreamEnded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "id: 0\nevent: log\ndata: {\"interaction_id\":\"cut\",\"status\":\"queued\"}\n\n")
		http.NewResponseController(w).Flush()
		panic(http.ErrAbortHandler) // the connection is closed mid-body
	}))
	defer srv.Close()
	c := &wfapi.Client{BaseURL: srv.URL}
	events := 0
	err := c.Stream(ctxT(t), "echo", nil, "cut", func(wfapi.StreamEvent) { events++ })
	if events != 1 {
		t.Fatalf("%d events before the break, want 1", events)
	}
	if !errors.Is(err, wfapi.ErrStreamEnded) || errors.Is(err, context.Canceled) {
		t.Fatalf("Stream over a broken connection: %v, want ErrStreamEnded", err)
	}
}
