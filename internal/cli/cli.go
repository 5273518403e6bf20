// Package cli is Outrigger's command line: subcommands of the outrigger
// binary that drive the running instance through its control API
// (core/control) on the instance's socket. It imports nothing of the
// window, so `outrigger status` starts and ends in milliseconds.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"outrigger/core/control"
	"outrigger/core/instance"
	"outrigger/core/modes"
	"outrigger/core/supervisor"
)

// Exit codes.
const (
	ExitOK         = 0 // done
	ExitFailed     = 1 // failed; the message says why
	ExitUsage      = 2 // the command line is wrong
	ExitNotRunning = 3 // no instance is running; the message says how to start one
)

// Env is what a command needs from its surroundings.
type Env struct {
	Addr   string // the instance's endpoint (instance.Address of the runtime folder)
	Stdout io.Writer
	Stderr io.Writer
	// For `outrigger diagnostics` with no instance running: the report is
	// built from these.
	ConfigFile string // outrigger.toml
	LogDir     string // the sidecars' log files
	AppLog     string // Outrigger's own log file
	Version    string // main.version
}

type command struct {
	name, args, summary string
	run                 func(e *runner, args []string) int
}

var commands []command

func init() {
	commands = []command{
		{"status", "[--json]", "show every sidecar: state, port, pid, uptime, restarts, cpu, memory", (*runner).status},
		{"start", "NAME… | --all [--wait] [--timeout D]", "start sidecars (--wait: until Ready)", actionCmd("start")},
		{"stop", "NAME… | --all [--wait] [--timeout D]", "stop sidecars (--wait: until stopped)", actionCmd("stop")},
		{"restart", "NAME… | --all [--wait] [--timeout D]", "restart sidecars (--wait: until Ready again)", actionCmd("restart")},
		{"logs", "[-f] [-n N] [--stream stdout|stderr] NAME", "print a sidecar's recent output (-f: keep following)", (*runner).logs},
		{"events", "[--json] [--metrics]", "print state, mode and notable events as they happen", (*runner).events},
		{"mode", "[standalone | service [NAME] | connected [--force] URL]", "show the mode, or switch it (waits until it has switched)", (*runner).mode},
		{"quit", "", "stop every sidecar and quit the running instance", (*runner).quit},
		{"show", "", "bring the running instance's window to the front", (*runner).show},
		{"diagnostics", "[FILE]", "save a diagnostics report (zip) for a bug report; with no instance running, from the settings and log files", (*runner).diagnostics},
		{"help", "[COMMAND]", "show this help", (*runner).help},
	}
}

// IsCommand reports whether arg names a subcommand (main dispatches on it
// before anything else starts).
func IsCommand(arg string) bool {
	for _, c := range commands {
		if c.name == arg {
			return true
		}
	}
	return false
}

// Run runs one subcommand (args[0]) and returns the exit code.
func Run(env Env, args []string) int {
	r := &runner{env: env, c: newClient(env.Addr)}
	defer r.c.close()
	if len(args) == 0 {
		return r.help(nil)
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(r, args[1:])
		}
	}
	fmt.Fprintf(env.Stderr, "outrigger: unknown command %q (see outrigger help)\n", args[0])
	return ExitUsage
}

type runner struct {
	env Env
	c   *client
}

func (r *runner) out(format string, a ...any) { fmt.Fprintf(r.env.Stdout, format, a...) }

// flags makes a subcommand's flag set; -h prints its usage.
func (r *runner) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(r.env.Stderr)
	fs.Usage = func() {
		for _, c := range commands {
			if c.name == name {
				fmt.Fprintf(r.env.Stderr, "usage: outrigger %s %s\n\n%s\n", name, c.args, c.summary)
			}
		}
		if hasFlags(fs) {
			fmt.Fprintln(r.env.Stderr, "\nflags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// waitFlag is --wait, bare (wait for the action's natural end) or with the
// state to wait for: --wait=ready, --wait stopped.
type waitFlag struct {
	on    bool
	state string // "" (the action's own), "ready" or "stopped"
}

// joinWaitState turns "--wait ready" into "--wait=ready": the flag package
// reads a bare --wait as true and would take "ready" for a sidecar's name.
// (A sidecar named "ready" is then named before --wait, or after --.)
func joinWaitState(args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		if (a == "--wait" || a == "-wait") && i+1 < len(args) && isWaitState(args[i+1]) {
			a += "=" + args[i+1]
			i++
		}
		out = append(out, a)
	}
	return out
}

func isWaitState(s string) bool { return s == "ready" || s == "stopped" }

func (w *waitFlag) IsBoolFlag() bool { return true }

func (w *waitFlag) String() string {
	if w == nil || !w.on {
		return "false"
	}
	return "true"
}

func (w *waitFlag) Set(v string) error {
	switch {
	case v == "true":
		w.on = true
	case v == "false":
		w.on = false
	case isWaitState(v):
		w.on, w.state = true, v
	default:
		return fmt.Errorf("--wait takes ready or stopped, not %q", v)
	}
	return nil
}

// parse parses flags anywhere among the arguments (NAME --wait as well as
// --wait NAME). It returns -1 to go on, or the exit code.
func parse(fs *flag.FlagSet, args []string) ([]string, int) {
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, ExitOK
			}
			return nil, ExitUsage
		}
		args = fs.Args()
		if len(args) == 0 {
			return rest, -1
		}
		if args[0] == "--" {
			return append(rest, args[1:]...), -1
		}
		rest = append(rest, args[0])
		args = args[1:]
	}
}

// failed reports an error and returns its exit code: 3 when no instance
// answers (with how to start one), 1 otherwise.
func (r *runner) failed(what string, err error) int {
	if errors.Is(err, instance.ErrNotRunning) {
		fmt.Fprintf(r.env.Stderr, "outrigger: no Outrigger instance is running (nothing answers on %s).\n"+
			"Start one with `outrigger` (window) or `outrigger --headless`, then try again.\n", r.env.Addr)
		return ExitNotRunning
	}
	if errors.Is(err, context.DeadlineExceeded) {
		// Every request is bounded (client.do): an instance that takes the
		// connection but never answers ends here, not in a raw
		// "context deadline exceeded".
		err = errors.New("the instance took the request but did not answer in time (is it hung?)")
	}
	if what != "" {
		fmt.Fprintf(r.env.Stderr, "outrigger: %s: %v\n", what, err)
	} else {
		fmt.Fprintf(r.env.Stderr, "outrigger: %v\n", err)
	}
	return ExitFailed
}

func (r *runner) usageErr(fs *flag.FlagSet, msg string) int {
	fmt.Fprintf(r.env.Stderr, "outrigger %s: %s\n", fs.Name(), msg)
	fs.Usage()
	return ExitUsage
}

// interrupted is a context that ends on Ctrl-C, for the commands that
// follow a stream.
func interrupted() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt)
}

func (r *runner) status(args []string) int {
	fs := r.flags("status")
	asJSON := fs.Bool("json", false, "print the API's JSON")
	rest, code := parse(fs, args)
	if code >= 0 {
		return code
	}
	if len(rest) > 0 {
		return r.usageErr(fs, "takes no names")
	}
	var list control.SidecarList
	if err := r.c.do(context.Background(), "GET", "/v1/sidecars", nil, &list); err != nil {
		return r.failed("status", err)
	}
	if *asJSON {
		enc := json.NewEncoder(r.env.Stdout)
		enc.SetIndent("", "  ")
		enc.Encode(list)
		return ExitOK
	}
	r.table(list.Sidecars)
	return ExitOK
}

func (r *runner) table(sts []supervisor.Status) {
	tw := tabwriter.NewWriter(r.env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATE\tPORT\tPID\tUPTIME\tRESTARTS\tCPU\tMEMORY")
	for _, s := range sts {
		pid, up, cpu, mem := "-", "-", "-", "-"
		if s.PID > 0 {
			pid = strconv.Itoa(s.PID)
			up = Uptime(time.Duration(s.Uptime * float64(time.Second)))
		}
		// The watchdog's sweep reports CPU and memory together, a moment
		// after a run starts (or after a status request wakes the idle
		// sweep): until then both are unknown, not 0% and 0 bytes.
		if s.PID > 0 && s.RSSBytes > 0 {
			cpu = fmt.Sprintf("%.0f%%", s.CPUPercent)
			mem = Bytes(s.RSSBytes)
		}
		port := "-"
		if s.Port > 0 {
			port = strconv.Itoa(s.Port)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", s.Name, s.State, port, pid, up, s.Restarts, cpu, mem)
	}
	tw.Flush()
}

// Uptime is a duration the way the table shows it: 45s, 12m03s, 3h04m, 2d03h.
func Uptime(d time.Duration) string {
	s := int64(d / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	case s < 86400:
		return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
	}
	return fmt.Sprintf("%dd%02dh", s/86400, s%86400/3600)
}

// Bytes is a memory size the way the table shows it: 812K, 45M, 1.2G.
func Bytes(n uint64) string {
	switch {
	case n == 0:
		return "0"
	case n < 1<<20:
		return fmt.Sprintf("%dK", (n+512)>>10)
	case n < 1<<30:
		return fmt.Sprintf("%dM", (n+(1<<19))>>20)
	}
	return fmt.Sprintf("%.1fG", float64(n)/(1<<30))
}

func actionCmd(act string) func(*runner, []string) int {
	return func(r *runner, args []string) int {
		fs := r.flags(act)
		all := fs.Bool("all", false, "every sidecar")
		w := &waitFlag{}
		fs.Var(w, "wait", "wait until done before returning: --wait (Ready, or stopped for stop), --wait ready, --wait stopped")
		wait := &w.on
		timeout := fs.Duration("timeout", control.DefaultWait, "how long --wait waits for each sidecar")
		names, code := parse(fs, joinWaitState(args))
		if code >= 0 {
			return code
		}
		if *all == (len(names) > 0) {
			return r.usageErr(fs, "name the sidecars, or give --all")
		}
		q := url.Values{}
		if *wait {
			state := w.state
			if state == "" {
				state = "ready"
				if act == "stop" {
					state = "stopped"
				}
			}
			q.Set("wait", state)
			q.Set("timeout", timeoutParam(*timeout))
		}
		query := ""
		if len(q) > 0 {
			query = "?" + q.Encode()
		}
		// A wait is bounded by the instance (--timeout, per request, so per
		// name); each request by that and a margin, not one limit shared by
		// all the names, which would leave the later ones less.
		// Without --wait a request waits for nothing: requestTimeout alone.
		bound := func() (context.Context, context.CancelFunc) {
			limit := requestTimeout
			if *wait {
				limit += *timeout
			}
			return context.WithTimeout(context.Background(), limit)
		}
		if *all && act != "restart" {
			ctx, cancel := bound()
			defer cancel()
			var res control.ActionResult
			if err := r.c.do(ctx, "POST", "/v1/sidecars/"+act+query, nil, &res); err != nil {
				return r.failed(act+" --all", err)
			}
			if *wait {
				r.table(res.Sidecars)
			} else {
				r.out("%s: accepted for every sidecar\n", act)
			}
			return ExitOK
		}
		if *all { // restart --all: each one, as the window's buttons would
			var list control.SidecarList
			if err := r.c.do(context.Background(), "GET", "/v1/sidecars", nil, &list); err != nil {
				return r.failed(act, err)
			}
			for _, s := range list.Sidecars {
				if s.State.Running() {
					names = append(names, s.Name)
				}
			}
		}
		exit := ExitOK
		for _, n := range names {
			var res control.ActionResult
			ctx, cancel := bound()
			err := r.c.do(ctx, "POST", "/v1/sidecars/"+url.PathEscape(n)+"/"+act+query, nil, &res)
			cancel()
			if err != nil {
				if c := r.failed(act+" "+n, err); c == ExitNotRunning {
					return c
				}
				exit = ExitFailed
				continue
			}
			if len(res.Sidecars) == 1 {
				r.out("%s\n", describe(res.Sidecars[0]))
			}
		}
		return exit
	}
}

// describe is one sidecar in a line: "xgen-embedding: ready (pid 4242, port 8002)".
func describe(s supervisor.Status) string {
	var extra []string
	if s.PID > 0 {
		extra = append(extra, "pid "+strconv.Itoa(s.PID))
	}
	if s.Port > 0 && s.State.Running() {
		extra = append(extra, "port "+strconv.Itoa(s.Port))
	}
	line := s.Name + ": " + string(s.State)
	if len(extra) > 0 {
		line += " (" + strings.Join(extra, ", ") + ")"
	}
	if s.Reason != "" && s.State != supervisor.Ready {
		line += ": " + s.Reason
	}
	return line
}

func (r *runner) show(args []string) int {
	fs := r.flags("show")
	rest, code := parse(fs, args)
	if code >= 0 {
		return code
	}
	if len(rest) > 0 {
		return r.usageErr(fs, "takes no arguments")
	}
	if err := r.c.do(context.Background(), "POST", "/v1/show", nil, nil); err != nil {
		return r.failed("show", err)
	}
	return ExitOK
}

// quit asks the instance to quit and waits until it has: its event stream
// ends only when it has stopped every sidecar and closed its endpoint.
//
// Asking (opening the stream, then POST /v1/quit) is bounded by
// requestTimeout, like status: an instance that takes the connection but
// never answers must not hang quit. The wait once it has said yes is not:
// it lasts up to the longest stop_timeout, which only the instance knows.
func (r *runner) quit(args []string) int {
	fs := r.flags("quit")
	rest, code := parse(fs, args)
	if code >= 0 {
		return code
	}
	if len(rest) > 0 {
		return r.usageErr(fs, "takes no arguments")
	}
	sig, cancel := interrupted()
	defer cancel()
	ctx, stop := context.WithCancel(sig) // not WithTimeout: it would end the stream too
	defer stop()
	asking := time.AfterFunc(requestTimeout, stop)
	stream, err := r.c.open(ctx, "GET", "/v1/events", nil, "text/event-stream")
	if err == nil {
		defer stream.Body.Close()
		err = r.c.do(ctx, "POST", "/v1/quit", nil, nil)
	}
	if !asking.Stop() && sig.Err() == nil { // ctx is ended: the stream cannot be read
		fmt.Fprintf(r.env.Stderr, "outrigger: quit: the instance did not answer within %s (is it hung?)\n", requestTimeout)
		return ExitFailed
	}
	if err != nil {
		return r.failed("quit", err)
	}
	_, _ = io.Copy(io.Discard, stream.Body)
	if ctx.Err() != nil {
		fmt.Fprintln(r.env.Stderr, "outrigger: quit: asked to quit; stopped waiting for it")
		return ExitFailed
	}
	r.out("Outrigger has quit.\n")
	return ExitOK
}

func (r *runner) mode(args []string) int {
	fs := r.flags("mode")
	timeout := fs.Duration("timeout", control.DefaultWait, "how long to wait for the switch")
	force := fs.Bool("force", false, "connected: switch even if the gateway does not answer now")
	rest, code := parse(fs, args)
	if code >= 0 {
		return code
	}
	ctx := context.Background()
	if len(rest) == 0 {
		var ms control.ModeState
		if err := r.c.do(ctx, "GET", "/v1/mode", nil, &ms); err != nil {
			return r.failed("mode", err)
		}
		r.out("%s\n", modeLine(ms))
		return ExitOK
	}
	req := control.ModeRequest{Mode: rest[0]}
	switch modes.Kind(rest[0]) {
	case modes.Standalone:
		if len(rest) != 1 {
			return r.usageErr(fs, "standalone takes no argument")
		}
	case modes.Service:
		if len(rest) > 2 {
			return r.usageErr(fs, "service takes one sidecar name")
		}
		if len(rest) == 2 {
			req.Service = rest[1]
		}
	case modes.Connected:
		if len(rest) != 2 {
			return r.usageErr(fs, "connected takes the gateway's URL")
		}
		req.URL = rest[1]
		req.Force = *force
	default:
		return r.usageErr(fs, fmt.Sprintf("unknown mode %q (standalone, service or connected)", rest[0]))
	}
	var ms control.ModeState
	path := "/v1/mode?wait=done&timeout=" + url.QueryEscape(timeoutParam(*timeout))
	ctx, cancel := context.WithTimeout(ctx, *timeout+requestTimeout)
	defer cancel()
	if err := r.c.do(ctx, "PUT", path, req, &ms); err != nil {
		return r.failed("mode", err)
	}
	r.out("%s\n", modeLine(ms))
	return ExitOK
}

func modeLine(ms control.ModeState) string {
	line := "mode: " + ms.Mode.String()
	if ms.Reachable != nil {
		if *ms.Reachable {
			line += ", gateway reachable"
		} else {
			line += ", gateway unreachable"
			if ms.Error != "" {
				line += ": " + ms.Error
			}
		}
	}
	return line
}

func (r *runner) help(args []string) int {
	if len(args) > 0 {
		for _, c := range commands {
			if c.name == args[0] && c.name != "help" {
				return c.run(r, []string{"-h"})
			}
		}
	}
	w := r.env.Stdout
	fmt.Fprintln(w, "usage: outrigger [--headless] [--config FILE] [--verbose]   open the window (or run headless)")
	fmt.Fprintln(w, "       outrigger --version")
	fmt.Fprintln(w, "       outrigger COMMAND [flags]                           drive the running instance")
	fmt.Fprintln(w, "\ncommands:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range commands {
		fmt.Fprintf(tw, "  %s %s\t%s\n", c.name, c.args, c.summary)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nexit codes: 0 done, 1 failed (the message says why), 2 wrong usage, 3 no instance running.")
	fmt.Fprintln(w, "Each command takes -h.")
	return ExitOK
}

// Show asks the running instance at addr to show its window, retrying for
// up to wait while it may still be starting (it holds the lock before it
// listens). shown is false when it answered but runs headless; the error
// is supervisor.ErrQuitting when it answered that it is quitting: a launch
// must not exit on that answer, or nothing runs once the quit has ended
// (see AwaitQuit).
func Show(addr string, wait time.Duration) (shown bool, err error) {
	c := newClient(addr)
	defer c.close()
	deadline := time.Now().Add(wait)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = c.do(ctx, "POST", "/v1/show", nil, nil)
		cancel()
		var ae *apiError
		switch {
		case err == nil:
			return true, nil
		case errors.As(err, &ae) && ae.Status == 409:
			return false, nil
		case errors.As(err, &ae) && ae.Code == control.CodeUnavailable:
			return false, supervisor.ErrQuitting
		case time.Now().After(deadline):
			return false, err
		}
		time.Sleep(25 * time.Millisecond) // a foreign process coming up: there is nothing to wait on
	}
}

// AwaitQuit returns once the instance at addr, which said it is quitting,
// has ended: its event stream ends only when it has stopped every sidecar
// and closes its endpoint (as `outrigger quit` waits). A quit lasts as long
// as its slowest sidecar's stop_timeout, which only the instance knows, so
// the wait has no limit of its own; opening the stream has requestTimeout.
func AwaitQuit(addr string) error {
	c := newClient(addr)
	defer c.close()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	asking := time.AfterFunc(requestTimeout, stop)
	stream, err := c.open(ctx, "GET", "/v1/events", nil, "text/event-stream")
	if !asking.Stop() {
		return errors.New("the quitting instance did not answer in time (is it hung?)")
	}
	if errors.Is(err, instance.ErrNotRunning) {
		return nil // gone already
	}
	if err != nil {
		return err
	}
	defer stream.Body.Close()
	_, _ = io.Copy(io.Discard, stream.Body) // cut or ended: either way it is going
	return nil
}
