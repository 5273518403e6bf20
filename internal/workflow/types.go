// Package workflow is the engine of the xgen-workflow stand-in sidecar: a
// small catalogue of workflows run as nodes, an execution manager that owns
// every execution (a client that disconnects never cancels one), an SQLite
// store written before anything is streamed, the HTTP API with SSE, and a
// signed completion webhook. Its wire types and the HTTP client live in
// internal/workflow/wfapi, which does not import this package (nor SQLite).
//
// It has no GUI dependencies.
package workflow

import "outrigger/internal/workflow/wfapi"

// The wire types are wfapi's; the engine uses them under the same names.
type (
	NodeInfo     = wfapi.NodeInfo
	WorkflowInfo = wfapi.WorkflowInfo
	NodeResult   = wfapi.NodeResult
	Result       = wfapi.Result
	ExecStatus   = wfapi.ExecStatus
	LogEvent     = wfapi.LogEvent
	NodeOutput   = wfapi.NodeOutput
	EndEvent     = wfapi.EndEvent
	StreamEvent  = wfapi.StreamEvent
	RunRequest   = wfapi.RunRequest
)

// Execution statuses as stored and reported.
const (
	StatusQueued      = wfapi.StatusQueued
	StatusRunning     = wfapi.StatusRunning
	StatusCompleted   = wfapi.StatusCompleted
	StatusFailed      = wfapi.StatusFailed
	StatusCancelled   = wfapi.StatusCancelled
	StatusInterrupted = wfapi.StatusInterrupted
	StatusStoreFailed = wfapi.StatusStoreFailed
)

// SSE event names.
const (
	EventLog  = wfapi.EventLog
	EventData = wfapi.EventData
	EventEnd  = wfapi.EventEnd
)

// Errors from Submit, Cancel and the Store.
var (
	ErrNotFound        = wfapi.ErrNotFound
	ErrUnknownWorkflow = wfapi.ErrUnknownWorkflow
	ErrQueueFull       = wfapi.ErrQueueFull
	ErrDuplicate       = wfapi.ErrDuplicate
	ErrClosed          = wfapi.ErrClosed
	ErrFinished        = wfapi.ErrFinished
)

// Terminal reports whether status is one an execution never leaves.
func Terminal(status string) bool { return wfapi.Terminal(status) }
