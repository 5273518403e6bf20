package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"outrigger/core/control"
	"outrigger/core/instance"
)

// client talks to the running instance over its socket (or pipe).
type client struct {
	addr string
	http *http.Client
}

func newClient(addr string) *client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return instance.Dial(ctx, addr)
		},
		MaxIdleConnsPerHost: 2,
		DisableCompression:  true,
	}
	return &client{addr: addr, http: &http.Client{Transport: tr}}
}

// apiError is an answer other than 2xx, with the API's message.
type apiError struct {
	Status int
	Code   string
	Msg    string
}

func (e *apiError) Error() string { return e.Msg }

// do sends a request and decodes a JSON answer into out (may be nil).
// The host is "localhost": the socket's server checks Host like every
// local server does.
func (c *client) do(ctx context.Context, method, path string, body, out any) error {
	if _, ok := ctx.Deadline(); !ok {
		// An instance that hangs must not hang the command.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, requestTimeout)
		defer cancel()
	}
	resp, err := c.open(ctx, method, path, body, "")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("reading the answer to %s %s: %w", method, path, err)
	}
	return nil
}

// open sends a request and returns the response when it is 2xx.
func (c *client) open(ctx context.Context, method, path string, body any, accept string) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://localhost"+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if errors.Is(err, instance.ErrNotRunning) {
			return nil, instance.ErrNotRunning
		}
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		var eb control.ErrorBody
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if json.Unmarshal(data, &eb) != nil || eb.Error == "" {
			eb.Error = strings.TrimSpace(string(data))
			if eb.Error == "" {
				eb.Error = resp.Status
			}
		}
		return nil, &apiError{Status: resp.StatusCode, Code: eb.Code, Msg: eb.Error}
	}
	return resp, nil
}

func (c *client) close() { c.http.CloseIdleConnections() }

// requestTimeout bounds a request that does not wait for anything (a var:
// a test shortens it).
var requestTimeout = 30 * time.Second

// timeoutParam renders a wait timeout for the query.
func timeoutParam(d time.Duration) string { return d.String() }
