package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"outrigger/core/control"
)

func (r *runner) logs(args []string) int {
	fs := r.flags("logs")
	follow := fs.Bool("f", false, "keep printing new lines until interrupted")
	n := fs.Int("n", control.DefaultTail, "how many recent lines to print first")
	stream := fs.String("stream", "", "only stdout or only stderr")
	rest, code := parse(fs, args)
	if code >= 0 {
		return code
	}
	if len(rest) != 1 {
		return r.usageErr(fs, "name one sidecar")
	}
	if *n < 0 {
		return r.usageErr(fs, "-n must not be negative")
	}
	q := url.Values{"tail": {strconv.Itoa(*n)}}
	if *follow {
		q.Set("follow", "1")
	}
	if *stream != "" {
		q.Set("stream", *stream)
	}
	sig, cancel := interrupted()
	defer cancel()
	ctx := sig
	if !*follow {
		// A one-shot request, like status: an instance that does not
		// answer must not hang it (see client.do).
		var stop context.CancelFunc
		ctx, stop = context.WithTimeout(sig, requestTimeout)
		defer stop()
	}
	resp, err := r.c.open(ctx, "GET", "/v1/sidecars/"+url.PathEscape(rest[0])+"/logs?"+q.Encode(), nil, "")
	if err != nil {
		return r.failed("logs", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	out := bufio.NewWriter(r.env.Stdout)
	for sc.Scan() {
		var l control.LogLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			continue
		}
		if l.Dropped {
			fmt.Fprintln(out, "…", l.Text)
		} else {
			fmt.Fprintln(out, l.Text)
		}
		if *follow {
			out.Flush()
		}
	}
	out.Flush()
	if sig.Err() != nil {
		return ExitOK // Ctrl-C ends -f
	}
	if err := sc.Err(); err != nil {
		return r.failed("logs", err)
	}
	if *follow {
		// A followed stream ends only with the instance: say so, as
		// events does, rather than end as if all had been printed.
		fmt.Fprintln(r.env.Stderr, "outrigger: logs: the instance ended the stream (it quit)")
	}
	return ExitOK
}

func (r *runner) events(args []string) int {
	fs := r.flags("events")
	asJSON := fs.Bool("json", false, "print each event's JSON on one line")
	metrics := fs.Bool("metrics", false, "include the CPU/memory updates")
	rest, code := parse(fs, args)
	if code >= 0 {
		return code
	}
	if len(rest) > 0 {
		return r.usageErr(fs, "takes no arguments")
	}
	path := "/v1/events"
	if *metrics {
		path += "?metrics=1"
	}
	ctx, cancel := interrupted()
	defer cancel()
	resp, err := r.c.open(ctx, "GET", path, nil, "text/event-stream")
	if err != nil {
		return r.failed("events", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if *asJSON {
			r.out("%s\n", data)
			continue
		}
		var e control.Event
		if json.Unmarshal([]byte(data), &e) == nil {
			r.out("%s\n", EventLine(e))
		}
	}
	if ctx.Err() != nil {
		return ExitOK
	}
	if err := sc.Err(); err != nil {
		return r.failed("events", err)
	}
	fmt.Fprintln(r.env.Stderr, "outrigger: events: the instance ended the stream (it quit)")
	return ExitOK
}

// EventLine is an event as `outrigger events` prints it:
//
//	12:04:05 xgen-embedding restarting: crashed after running 3s: signal killed (attempt 1, in 0s)
//	12:04:05 xgen-embedding ready (pid 4242, port 8002)
//	12:04:09 mode modeChanged: standalone
func EventLine(e control.Event) string {
	ts := e.Time.Local().Format("15:04:05")
	if e.Sidecar == "" {
		line := ts + " mode " + e.Type
		if e.Message != "" {
			line += ": " + e.Message
		} else if e.Mode != nil {
			line += ": " + e.Mode.String()
		}
		if e.Error != "" {
			line += " (" + e.Error + ")"
		}
		return line
	}
	if e.Type == "state" && e.Status != nil {
		return ts + " " + describe(*e.Status)
	}
	line := ts + " " + e.Sidecar + " " + e.Type
	if e.Reason != "" {
		line += ": " + e.Reason
	}
	if e.Type == "restarting" && e.Reason == "" {
		line += fmt.Sprintf(" (attempt %d, in %s)", e.Attempt, time.Duration(e.DelayMs)*time.Millisecond)
	}
	return line
}
