// Package wfapi is the wire side of the xgen-workflow service: the JSON
// types of its HTTP API, its statuses and errors, and a small HTTP Client.
// It does not import the engine (internal/workflow), so a program that only
// talks to the service (the GUI) does not link the engine's SQLite driver.
package wfapi

import (
	"encoding/json"
	"errors"
	"time"
)

// Errors the service reports (the engine returns them; the Client maps
// status codes onto them, see HTTPError.Is).
var (
	ErrNotFound        = errors.New("not found")
	ErrUnknownWorkflow = errors.New("unknown workflow")
	ErrQueueFull       = errors.New("too many executions: the queue is full")
	ErrDuplicate       = errors.New("an execution with this interaction_id is already queued or running")
	ErrClosed          = errors.New("the service is shutting down")
	ErrFinished        = errors.New("the execution has already finished")
)

// Execution statuses as stored and reported.
const (
	StatusQueued      = "queued"
	StatusRunning     = "running"
	StatusCompleted   = "completed"
	StatusFailed      = "failed"
	StatusCancelled   = "cancelled"
	StatusInterrupted = "interrupted"
	// StatusStoreFailed: the engine could not record how the execution
	// ended, so it reports that instead of a result it never stored.
	StatusStoreFailed = "store_failed"
)

// Terminal reports whether status is one an execution never leaves.
func Terminal(status string) bool {
	switch status {
	case StatusCompleted, StatusFailed, StatusCancelled, StatusInterrupted, StatusStoreFailed:
		return true
	}
	return false
}

// SSE event names. Node outputs are sent as unnamed events (plain "data:"),
// which a browser EventSource delivers as "message"; the Client reports them
// as EventData.
const (
	EventLog  = "log"
	EventData = "data"
	EventEnd  = "end"
)

// NodeInfo describes one node of a catalogue workflow.
type NodeInfo struct {
	ID          string `json:"id"`
	Description string `json:"description"`
}

// WorkflowInfo is one catalogue entry as listed by GET /workflows.
type WorkflowInfo struct {
	ID          string     `json:"id"`
	Description string     `json:"description"`
	Nodes       []NodeInfo `json:"nodes"`
	// DynamicNodes is true when the number of nodes comes from the input
	// (the listed nodes are then a template).
	DynamicNodes bool            `json:"dynamic_nodes,omitempty"`
	InputSchema  json.RawMessage `json:"input_schema"`
	ExampleInput json.RawMessage `json:"example_input"`
}

// NodeResult is one node's stored input and output.
type NodeResult struct {
	Index      int             `json:"index"`
	NodeID     string          `json:"node_id"`
	Status     string          `json:"status"`
	Input      json.RawMessage `json:"input,omitempty"`
	Output     json.RawMessage `json:"output,omitempty"`
	Error      string          `json:"error,omitempty"`
	StartedAt  *time.Time      `json:"started_at,omitempty"`
	FinishedAt *time.Time      `json:"finished_at,omitempty"`
	DurationMS int64           `json:"duration_ms"`
}

// Result is an execution as stored: GET /results/{interaction_id}, the JSON
// reply of /deploy/stream, and the webhook body.
type Result struct {
	InteractionID string          `json:"interaction_id"`
	ExecutionID   int64           `json:"execution_id"`
	WorkflowID    string          `json:"workflow_id"`
	Status        string          `json:"status"`
	Error         string          `json:"error,omitempty"`
	Input         json.RawMessage `json:"input,omitempty"`
	Output        json.RawMessage `json:"output,omitempty"`
	CreatedAt     time.Time       `json:"created_at"`
	StartedAt     *time.Time      `json:"started_at,omitempty"`
	FinishedAt    *time.Time      `json:"finished_at,omitempty"`
	DurationMS    int64           `json:"duration_ms"`
	Nodes         []NodeResult    `json:"nodes"`
	// Webhook delivery state when a callback_url was given: "pending",
	// "delivered" or "failed" (empty without a callback).
	Webhook         string `json:"webhook,omitempty"`
	WebhookAttempts int    `json:"webhook_attempts,omitempty"`
	WebhookError    string `json:"webhook_error,omitempty"`
}

// ExecStatus is GET /executions/status.
type ExecStatus struct {
	MaxWorkers int  `json:"maxWorkers"`
	Running    int  `json:"running"`
	Queued     int  `json:"queued"`
	MaxQueued  int  `json:"maxQueued"`
	Accepting  bool `json:"accepting"`
}

// LogEvent is the data of an `event: log` (node progress and execution
// state changes).
type LogEvent struct {
	InteractionID string    `json:"interaction_id"`
	Status        string    `json:"status"` // queued, running, node_started, node_completed, node_failed
	NodeID        string    `json:"node_id,omitempty"`
	Index         int       `json:"index"`
	Total         int       `json:"total"`
	Message       string    `json:"message"`
	Time          time.Time `json:"time"`
}

// NodeOutput is the data of a plain `data:` chunk: one node's output, sent
// only after it is stored.
type NodeOutput struct {
	Type          string          `json:"type"` // "node_output"
	InteractionID string          `json:"interaction_id"`
	NodeID        string          `json:"node_id"`
	Index         int             `json:"index"`
	Total         int             `json:"total"`
	Output        json.RawMessage `json:"output"`
	DurationMS    int64           `json:"duration_ms"`
}

// EndEvent is the data of the final `event: end`.
type EndEvent struct {
	InteractionID string          `json:"interaction_id"`
	Status        string          `json:"status"`
	Error         string          `json:"error,omitempty"`
	Output        json.RawMessage `json:"output,omitempty"`
	DurationMS    int64           `json:"duration_ms"`
}

// StreamEvent is one SSE event as the Client reports it. Type is EventLog,
// EventData or EventEnd (or another name the server may add later); exactly
// one of Log, Node and End is set for the known types. Raw is the event's
// data as sent.
type StreamEvent struct {
	Type string
	Raw  json.RawMessage
	Log  *LogEvent
	Node *NodeOutput
	End  *EndEvent
}

// RunRequest is the body of POST /workflow/stream and POST /deploy/stream.
type RunRequest struct {
	WorkflowID    string          `json:"workflow_id"`
	Input         json.RawMessage `json:"input"`
	InteractionID string          `json:"interaction_id"`
	// ResponseFormat is for /deploy/stream: "json" (default) or "stream".
	ResponseFormat string `json:"response_format,omitempty"`
	// CallbackURL, when set, receives the Result as a POST on completion.
	CallbackURL string `json:"callback_url,omitempty"`
}

// ErrorBody is the JSON body of every error reply.
type ErrorBody struct {
	Error  string `json:"error"`
	Status string `json:"status,omitempty"`
}
