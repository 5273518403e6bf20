package ui

import (
	"outrigger/core/modes"
	"outrigger/core/supervisor"
	"outrigger/ui/workflows"
)

// newWorkflows builds the Workflows tab: the workflow engine's panel,
// pointed at the sidecar behind Service mode once it is Ready.
func (u *UI) newWorkflows() *workflows.Panel {
	empty := ""
	u.wfURL.Store(&empty)
	// The panel calls baseURL from its own goroutines, hence the atomic.
	return workflows.New(func() string { return *u.wfURL.Load() }, u.win)
}

// syncWorkflows follows the mode and the service sidecar's state; the panel
// shows its placeholder outside Service mode or while the engine is not
// Ready. UI thread.
func (u *UI) syncWorkflows() {
	if u.wf == nil {
		return
	}
	url := ""
	if u.d.Modes != nil {
		if m := u.d.Modes.Current(); m.Kind == modes.Service && m.ServiceName != nil {
			if st := u.statuses[*m.ServiceName]; st.State == supervisor.Ready {
				url = st.URL
			}
		}
	}
	if url != *u.wfURL.Load() {
		u.wfURL.Store(&url)
		u.wf.Refresh()
	}
}
