package wfapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client talks to an xgen-workflow service, directly or through a gateway
// that serves the same paths under its base URL. It has no GUI
// dependencies. HTTP may be nil (DefaultHTTP: no timeout, as a stream lasts
// as long as its execution; bound calls with their ctx).
//
// Token, when set, is sent as "Authorization: Bearer …" on every request,
// streams included (a gateway in front of the service checks it); the
// Client never sends it over plain http to a host that is not loopback
// (ErrPlaintext). Failures a user can act on are told apart: errors.Is
// finds ErrRefused (401/403), ErrUntrusted (TLS verification) and
// ErrUnreachable in what a call returns.
type Client struct {
	BaseURL string
	Token   string
	HTTP    *http.Client
}

// HTTPError is a non-2xx reply. errors.Is maps it onto ErrNotFound (404),
// ErrQueueFull (429), ErrClosed (503), ErrFinished (409 on cancel) and
// ErrDuplicate (409 on a run whose interaction_id is busy).
type HTTPError struct {
	StatusCode int
	Message    string        // the reply's "error" field, or its body
	Status     string        // the execution status when the reply carries one (409 on cancel)
	RetryAfter time.Duration // from Retry-After, when sent
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("xgen-workflow: %d %s: %s", e.StatusCode, http.StatusText(e.StatusCode), e.Message)
}

// Is maps status codes onto the package's sentinel errors.
func (e *HTTPError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrQueueFull:
		return e.StatusCode == http.StatusTooManyRequests
	case ErrFinished:
		return e.StatusCode == http.StatusConflict && e.Status != ""
	case ErrDuplicate:
		return e.StatusCode == http.StatusConflict && e.Status == ""
	case ErrClosed:
		return e.StatusCode == http.StatusServiceUnavailable
	}
	return false
}

func (c *Client) hc() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return DefaultHTTP
}

func (c *Client) url(path string) string { return strings.TrimRight(c.BaseURL, "/") + path }

func (c *Client) do(ctx context.Context, method, path string, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.url(path), rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if err := Authorize(req, c.Token); err != nil {
		return nil, err
	}
	resp, err := c.hc().Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, classify(req.URL.Host, err)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		he := readHTTPError(resp)
		if he.StatusCode == http.StatusUnauthorized || he.StatusCode == http.StatusForbidden {
			return nil, &AuthError{HTTP: he, TokenSent: c.Token != ""}
		}
		return nil, he
	}
	return resp, nil
}

func readHTTPError(resp *http.Response) *HTTPError {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e := &HTTPError{StatusCode: resp.StatusCode}
	var ae ErrorBody
	if json.Unmarshal(b, &ae) == nil && ae.Error != "" {
		e.Message, e.Status = ae.Error, ae.Status
	} else {
		e.Message = strings.TrimSpace(string(b))
	}
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		if secs, err := strconv.Atoi(ra); err == nil {
			e.RetryAfter = time.Duration(secs) * time.Second
		}
	}
	return e
}

func (c *Client) getJSON(ctx context.Context, method, path string, body, out any) error {
	resp, err := c.do(ctx, method, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("xgen-workflow: decoding %s reply: %w", path, err)
	}
	return nil
}

// Workflows lists the catalogue.
func (c *Client) Workflows(ctx context.Context) ([]WorkflowInfo, error) {
	var out struct {
		Workflows []WorkflowInfo `json:"workflows"`
	}
	err := c.getJSON(ctx, http.MethodGet, "/workflows", nil, &out)
	return out.Workflows, err
}

// Result fetches the stored result of the latest execution for
// interactionID; errors.Is(err, ErrNotFound) when there is none.
func (c *Client) Result(ctx context.Context, interactionID string) (Result, error) {
	var r Result
	err := c.getJSON(ctx, http.MethodGet, "/results/"+url.PathEscape(interactionID), nil, &r)
	return r, err
}

// Cancel cancels a queued or running execution. errors.Is(err, ErrNotFound)
// when the id is unknown, errors.Is(err, ErrFinished) when it has already
// ended.
func (c *Client) Cancel(ctx context.Context, interactionID string) error {
	return c.getJSON(ctx, http.MethodPost, "/executions/"+url.PathEscape(interactionID)+"/cancel", nil, nil)
}

// Status reports the worker cap and the current load.
func (c *Client) Status(ctx context.Context) (ExecStatus, error) {
	var s ExecStatus
	err := c.getJSON(ctx, http.MethodGet, "/executions/status", nil, &s)
	return s, err
}

// Deploy runs req through POST /deploy/stream with response_format json and
// returns the stored result once the execution ends.
func (c *Client) Deploy(ctx context.Context, req RunRequest) (Result, error) {
	req.ResponseFormat = "json"
	var r Result
	err := c.getJSON(ctx, http.MethodPost, "/deploy/stream", req, &r)
	return r, err
}

// ErrStreamEnded is returned by Stream when the connection ends before the
// end event (the server stopped); the execution's stored result may still
// be fetched with Result.
var ErrStreamEnded = errors.New("xgen-workflow: stream ended before its end event")

// Stream starts workflowID with input under interactionID (generated by the
// server when empty) and calls onEvent for every event, in order, from the
// calling goroutine. It returns nil after the end event, ctx.Err() when ctx
// is cancelled (how a caller disconnects: the execution goes on), an
// *HTTPError when the server refuses the run (429: queue full), or
// ErrStreamEnded (wrapping the read error when the connection broke).
func (c *Client) Stream(ctx context.Context, workflowID string, input json.RawMessage, interactionID string, onEvent func(StreamEvent)) error {
	if len(input) == 0 {
		input = json.RawMessage("{}")
	}
	resp, err := c.do(ctx, http.MethodPost, "/workflow/stream",
		RunRequest{WorkflowID: workflowID, Input: input, InteractionID: interactionID})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	err = ReadSSE(resp.Body, func(ev StreamEvent) bool {
		if onEvent != nil {
			onEvent(ev)
		}
		return ev.Type != EventEnd
	})
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil && !errors.Is(err, ErrStreamEnded) {
		// The connection broke before the end event (the server died, or
		// a proxy cut it): for the caller, the stream ended early.
		return fmt.Errorf("%w: %w", ErrStreamEnded, err)
	}
	return err
}

// ReadSSE parses a workflow event stream from r, calling fn for each event
// until fn returns false (nil is returned then) or the stream ends
// (ErrStreamEnded, or the read error).
func ReadSSE(r io.Reader, fn func(StreamEvent) bool) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	var (
		name string
		data []byte
		has  bool
	)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 {
			if !has {
				name = ""
				continue
			}
			ev := decodeEvent(name, data)
			name, data, has = "", data[:0], false
			if !fn(ev) {
				return nil
			}
			continue
		}
		if line[0] == ':' {
			continue // comment (keep-alive)
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "event":
			name = string(value)
		case "data":
			if has {
				data = append(data, '\n')
			}
			data = append(data, value...)
			has = true
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return ErrStreamEnded
}

func decodeEvent(name string, data []byte) StreamEvent {
	ev := StreamEvent{Type: name, Raw: append(json.RawMessage(nil), data...)}
	if ev.Type == "" || ev.Type == "message" {
		ev.Type = EventData
	}
	switch ev.Type {
	case EventLog:
		var l LogEvent
		if json.Unmarshal(data, &l) == nil {
			ev.Log = &l
		}
	case EventData:
		var n NodeOutput
		if json.Unmarshal(data, &n) == nil {
			ev.Node = &n
		}
	case EventEnd:
		var e EndEvent
		if json.Unmarshal(data, &e) == nil {
			ev.End = &e
		}
	}
	return ev
}
