package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"outrigger/core/config"
	"outrigger/core/logs"
	"outrigger/core/modes"
)

// VersionInfo is GET /v1/version.
type VersionInfo struct {
	Version string `json:"version"`
	API     int    `json:"api"`
	PID     int    `json:"pid"`
	Go      string `json:"go"`
	OS      string `json:"os"`
}

func (s *Server) version(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, VersionInfo{Version: s.d.Version, API: APIVersion, PID: os.Getpid(),
		Go: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH})
}

func (s *Server) quit(w http.ResponseWriter, r *http.Request) {
	if !drainBody(w, r) {
		return
	}
	if s.d.Quit == nil {
		fail(w, http.StatusServiceUnavailable, CodeUnavailable, "this instance cannot be quit through the API")
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"quitting": true, "pid": os.Getpid()})
	http.NewResponseController(w).Flush()
	s.d.Quit()
}

func (s *Server) show(w http.ResponseWriter, r *http.Request) {
	if !drainBody(w, r) {
		return
	}
	if s.quitting(w) {
		return
	}
	if s.d.Show == nil || !s.d.Show() {
		fail(w, http.StatusConflict, CodeConflict, "this instance runs headless: there is no window to show")
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"shown": true})
}

// ModeState is GET /v1/mode: the mode, and the gateway check in Connected
// mode.
type ModeState struct {
	modes.Mode
	Reachable *bool      `json:"reachable,omitempty"`
	CheckedAt *time.Time `json:"checkedAt,omitempty"`
	Error     string     `json:"error,omitempty"`
}

func (s *Server) modeState() ModeState {
	ms := ModeState{Mode: s.d.Modes.Current()}
	if ms.Kind == modes.Connected {
		ok, at, err := s.d.Modes.Health()
		if !at.IsZero() {
			ms.Reachable, ms.CheckedAt = &ok, &at
			if err != nil {
				ms.Error = err.Error()
			}
		}
	}
	return ms
}

func (s *Server) getMode(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.modeState())
}

// ModeRequest is PUT /v1/mode's body:
//
//	{"mode": "standalone"}
//	{"mode": "service", "service": "xgen-workflow"}   (service may be left out: the configured one)
//	{"mode": "connected", "url": "https://gateway.example.com"}
//	{"mode": "connected", "url": "...", "force": true}   (switch even if the gateway does not answer now)
//
// serviceName and serverUrl, the names GET /v1/mode uses, are accepted too.
type ModeRequest struct {
	Mode        string `json:"mode"`
	Service     string `json:"service,omitempty"`
	ServiceName string `json:"serviceName,omitempty"`
	URL         string `json:"url,omitempty"`
	ServerURL   string `json:"serverUrl,omitempty"`
	Force       bool   `json:"force,omitempty"`
}

// ParseModeRequest reads and checks a PUT /v1/mode body. known lists the
// sidecars a Service mode may name. The error is for the client (400, or
// 404 for an unknown sidecar when notFound is true).
func ParseModeRequest(body io.Reader, known []string) (req ModeRequest, notFound bool, err error) {
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return req, false, err
		}
		return req, false, fmt.Errorf("body must be JSON such as {\"mode\": \"standalone\"}: %s", clipErr(err))
	}
	if dec.More() {
		return req, false, errors.New("body must be one JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return req, false, errors.New("body must be one JSON object")
	}
	if req.Service == "" {
		req.Service = req.ServiceName
	}
	if req.URL == "" {
		req.URL = req.ServerURL
	}
	switch modes.Kind(req.Mode) {
	case modes.Standalone:
		if req.Service != "" || req.URL != "" || req.Force {
			return req, false, errors.New("standalone mode takes no service, url or force")
		}
	case modes.Service:
		if req.URL != "" || req.Force {
			return req, false, errors.New("service mode takes a service name, not a url or force")
		}
		if req.Service != "" && !contains(known, req.Service) {
			return req, true, fmt.Errorf("no sidecar named %s (known: %s)", clip(req.Service), quoteList(known))
		}
	case modes.Connected:
		if req.Service != "" {
			return req, false, errors.New("connected mode takes a url, not a service name")
		}
		if err := config.CheckGatewayURL(req.URL); err != nil {
			if len(req.URL) > 200 {
				return req, false, fmt.Errorf("gateway URL %s is not a valid http:// or https:// URL", clip(req.URL))
			}
			return req, false, err
		}
	default:
		return req, false, fmt.Errorf("mode must be \"standalone\", \"service\" or \"connected\", got %s", clip(req.Mode))
	}
	return req, false, nil
}

func clipErr(err error) string {
	s := err.Error()
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// putMode is PUT /v1/mode: the mode switcher's Enable* calls. It answers
// 202 once the transition is queued, or with ?wait=done 200 once it has
// switched (409 if it did not: the previous mode stays).
func (s *Server) putMode(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	waitDone := false
	switch q.Get("wait") {
	case "":
	case "done":
		waitDone = true
	default:
		fail(w, http.StatusBadRequest, CodeBadRequest, "wait must be \"done\" for a mode change, got "+clip(q.Get("wait")))
		return
	}
	q.Del("wait")
	wait, err := ParseWait(q)
	if err != nil {
		fail(w, http.StatusBadRequest, CodeBadRequest, err.Error())
		return
	}
	req, notFound, err := ParseModeRequest(r.Body, s.d.Sup.Names())
	if err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			fail(w, http.StatusRequestEntityTooLarge, CodeTooLarge, "request body too large (the limit is 64 KiB)")
		case notFound:
			fail(w, http.StatusNotFound, CodeNotFound, err.Error())
		default:
			fail(w, http.StatusBadRequest, CodeBadRequest, err.Error())
		}
		return
	}
	if s.quitting(w) {
		return
	}
	var t *modes.Transition
	switch modes.Kind(req.Mode) {
	case modes.Standalone:
		t = s.d.Modes.EnableStandalone()
	case modes.Service:
		t = s.d.Modes.EnableService(req.Service, nil)
	case modes.Connected:
		t = s.d.Modes.Connect(req.URL, modes.ConnectOptions{Force: req.Force})
	}
	if !waitDone {
		select {
		case <-t.Done():
			if errors.Is(t.Err(), modes.ErrStopped) {
				fail(w, http.StatusServiceUnavailable, CodeUnavailable, "the mode controller has stopped (Outrigger is quitting)")
				return
			}
		default:
		}
		writeJSON(w, http.StatusAccepted, map[string]any{"accepted": true, "target": t.Target(), "mode": s.modeState()})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), wait.Timeout)
	defer cancel()
	if err := t.Wait(ctx); err != nil {
		switch {
		case errors.Is(err, modes.ErrStopped):
			fail(w, http.StatusServiceUnavailable, CodeUnavailable, "the mode controller has stopped (Outrigger is quitting)")
		case ctx.Err() != nil:
			s.commandFailed(w, ctx, "switch to "+t.Target().String(), err)
		default:
			fail(w, http.StatusConflict, CodeFailed, "switch to "+t.Target().String()+": "+err.Error()+" (now "+s.d.Modes.Current().String()+")")
		}
		return
	}
	writeJSON(w, http.StatusOK, s.modeState())
}

// LogLine is one line of GET /v1/sidecars/{name}/logs, one JSON object a
// line (or the data of one SSE event). A reader that fell behind the ring
// gets {"dropped": true} where lines are missing.
type LogLine struct {
	Seq     uint64    `json:"seq,omitempty"`
	Time    time.Time `json:"time,omitzero"`
	Stream  string    `json:"stream,omitempty"`
	Text    string    `json:"text"`
	Dropped bool      `json:"dropped,omitempty"`
}

// DefaultTail is how many lines a logs request returns without ?tail=.
const DefaultTail = 100

func (s *Server) logs(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if _, ok := s.status(w, name); !ok {
		return
	}
	ring := s.d.Sup.Logs(name)
	q := r.URL.Query()
	tail := DefaultTail
	if v := q.Get("tail"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			fail(w, http.StatusBadRequest, CodeBadRequest, "tail must be a whole number of lines, got "+clip(v))
			return
		}
		tail = n
	}
	follow := false
	switch v := q.Get("follow"); v {
	case "", "0", "false":
	case "1", "true":
		follow = true
	default:
		fail(w, http.StatusBadRequest, CodeBadRequest, "follow must be 1 or 0, got "+clip(v))
		return
	}
	want := -1
	switch v := q.Get("stream"); v {
	case "":
	case "stdout":
		want = int(logs.Stdout)
	case "stderr":
		want = int(logs.Stderr)
	default:
		fail(w, http.StatusBadRequest, CodeBadRequest, "stream must be stdout or stderr, got "+clip(v))
		return
	}
	sse := strings.Contains(r.Header.Get("Accept"), "text/event-stream")
	ct := "application/x-ndjson"
	if sse {
		ct = "text/event-stream"
	}
	st := newStream(w, ct, s.stall)
	var buf []byte
	emit := func(lines []logs.Line, dropped bool) error {
		buf = buf[:0]
		add := func(l LogLine) {
			data, _ := json.Marshal(l)
			if sse {
				buf = append(buf, "data: "...)
				buf = append(buf, data...)
				buf = append(buf, "\n\n"...)
			} else {
				buf = append(buf, data...)
				buf = append(buf, '\n')
			}
		}
		if dropped {
			add(LogLine{Dropped: true, Text: "(lines missing: the reader fell behind)"})
		}
		for _, l := range lines {
			if want >= 0 && int(l.Stream) != want {
				continue
			}
			add(LogLine{Seq: l.Seq, Time: l.Time, Stream: l.Stream.String(), Text: l.Text})
		}
		if len(buf) == 0 {
			return nil
		}
		return st.write(buf)
	}
	notify := ring.Notify()
	all := ring.Lines()
	var seen uint64
	if n := len(all); n > 0 {
		seen = all[n-1].Seq
	}
	if want >= 0 {
		kept := all[:0]
		for _, l := range all {
			if int(l.Stream) == want {
				kept = append(kept, l)
			}
		}
		all = kept
	}
	if len(all) > tail {
		all = all[len(all)-tail:]
	}
	if err := emit(all, false); err != nil || !follow {
		return
	}
	if st.rc.Flush() != nil { // the headers, even with no line yet
		return
	}
	beat := time.NewTicker(heartbeat)
	defer beat.Stop()
	for {
		select {
		case <-notify:
		case <-beat.C:
			if sse {
				if st.write([]byte(": ping\n\n")) != nil {
					return
				}
			}
			continue
		case <-r.Context().Done():
			return
		}
		notify = ring.Notify()
		lines, dropped := ring.Since(seen)
		if n := len(lines); n > 0 {
			seen = lines[n-1].Seq
		}
		if err := emit(lines, dropped); err != nil {
			return
		}
	}
}
