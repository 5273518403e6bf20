package workflow

import "outrigger/internal/workflow/wfapi"

// The engine's tests talk to it through the real client.
type (
	Client    = wfapi.Client
	HTTPError = wfapi.HTTPError
)

var (
	ErrStreamEnded = wfapi.ErrStreamEnded
	ReadSSE        = wfapi.ReadSSE
)
