package workflow

import (
	"bytes"
	"encoding/json"
	"html/template"
	"net/http"
)

type endpointDoc struct {
	Method, Path, Summary string
}

var endpoints = []endpointDoc{
	{"GET", "/health", "Liveness: never waits for executions or the database. 503 while shutting down."},
	{"GET", "/docs", "This page."},
	{"GET", "/workflows", `The catalogue: {"workflows":[{id, description, nodes, input_schema, example_input}]}.`},
	{"POST", "/workflow/stream", `Body {workflow_id, input, interaction_id?, callback_url?}. Server-Sent Events: ` +
		"`event: log` (queued, running, node_started, node_completed, node_failed), plain `data:` chunks " +
		`({"type":"node_output", node_id, index, total, output}) each sent only after it is stored, then ` +
		"`event: end` {status, error?, output?, duration_ms}. The execution does not depend on the connection: " +
		"disconnect at any time and fetch the result later. interaction_id is generated when absent (reply header X-Interaction-Id). " +
		"400 for invalid UTF-8 anywhere in the body, and for ids that are empty, over 200 bytes, \".\", \"..\" or hold / \\ or control characters; " +
		"409 when the id is queued or running, and 409 with its status when a finished execution already has it (its result stays at /results). " +
		"A client that falls more than STREAM_BUFFER_BYTES behind is dropped; the execution goes on."},
	{"POST", "/deploy/stream", `Like /workflow/stream plus response_format: "json" (default; one JSON Result when done) ` +
		`or "stream" (SSE). interaction_id gets the deploy_ prefix when it lacks it; one is generated when absent.`},
	{"GET", "/results/{interaction_id}", "The latest stored execution for the id: status (queued, running, completed, " +
		"failed, cancelled, interrupted, store_failed: the end could not be stored), timings, output, and every node's input and output. 404 when unknown."},
	{"POST", "/executions/{interaction_id}/cancel", "The only way to cancel. 202 when cancelling, 404 unknown, 409 already finished."},
	{"GET", "/executions/status", "{maxWorkers, running, queued, maxQueued, accepting}."},
}

var docsTmpl = template.Must(template.New("docs").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>xgen-workflow</title>
<style>
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.45}
code,pre{font-family:ui-monospace,monospace;font-size:.9em}pre{background:#f4f4f4;padding:.6rem;overflow:auto}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .5rem;vertical-align:top;text-align:left}
</style></head><body>
<h1>xgen-workflow <small>{{.Version}}</small></h1>
<p>Stand-in for the XGEN workflow engine. Executions belong to the server: a client that disconnects never
cancels one. Each node's input and output is written to SQLite before its chunk is streamed.
At most {{.Status.MaxWorkers}} executions run at once; up to {{.Status.MaxQueued}} more wait; past that the reply is
429 with Retry-After.</p>
<p>Only local callers: the Host header must name a loopback address or localhost (or a name in ALLOWED_HOSTS),
a browser request from another origin is refused unless listed in ALLOWED_ORIGINS (403), and bodies must be
<code>Content-Type: application/json</code> (415). Bodies are at most 1 MiB, headers 64 KiB. Finished executions are
pruned after KEEP and while the database uses more than DB_MAX_MB, never within 5 s of their end.</p>
<h2>Endpoints</h2>
<table><tr><th>Method</th><th>Path</th><th>What</th></tr>
{{range .Endpoints}}<tr><td>{{.Method}}</td><td><code>{{.Path}}</code></td><td>{{.Summary}}</td></tr>
{{end}}</table>
<h2>Webhook</h2>
<p>With <code>callback_url</code>, the stored Result is POSTed when the execution ends, retried with exponential
backoff on network errors, 408, 429 and 5xx, at most 5 attempts; each attempt reads the Result from the store
again. A 3xx is a failure (redirects are not followed). User info in the URL is sent as basic authentication and
stored and logged as <code>redacted@</code>. Headers: <code>X-Outrigger-Timestamp</code> (Unix seconds),
<code>X-Outrigger-Delivery</code> (execution id), <code>X-Outrigger-Attempt</code>, <code>X-Outrigger-Event</code>, and,
when WEBHOOK_SECRET is set, <code>X-Outrigger-Signature: sha256=&lt;hex HMAC-SHA256 of the body&gt;</code>.</p>
<h2>Workflows</h2>
{{range .Workflows}}<h3><code>{{.ID}}</code></h3><p>{{.Description}}</p>
<p>Nodes: {{range $i, $n := .Nodes}}{{if $i}}, {{end}}<code>{{$n.ID}}</code> ({{$n.Description}}){{end}}</p>
<p>Input schema:</p><pre>{{printf "%s" .InputSchema}}</pre>
<p>Example:</p><pre>curl -N -X POST http://HOST:PORT/workflow/stream -H 'Content-Type: application/json' \
  -d '{"workflow_id":"{{.ID}}","interaction_id":"demo-1","input":{{printf "%s" .ExampleInput}}}'</pre>
{{end}}
</body></html>
`))

func (s *Service) docs(w http.ResponseWriter, r *http.Request) {
	wfs := s.mgr.Workflows()
	pretty := make([]WorkflowInfo, len(wfs))
	for i, wf := range wfs {
		var b bytes.Buffer
		if json.Indent(&b, wf.InputSchema, "", "  ") == nil {
			wf.InputSchema = b.Bytes()
		}
		pretty[i] = wf
	}
	var out bytes.Buffer
	err := docsTmpl.Execute(&out, map[string]any{
		"Version": s.opts.Version, "Status": s.mgr.Status(), "Endpoints": endpoints, "Workflows": pretty,
	})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(out.Bytes())
}
