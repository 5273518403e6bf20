package ui

import (
	"net/http"
	"os"

	"outrigger/core/modes"
	"outrigger/core/supervisor"
	"outrigger/internal/workflow/wfapi"
	"outrigger/ui/workflows"
)

// gatewayHTTP is the client for the gateway in Connected mode; nil is
// wfapi.DefaultHTTP (TLS verified with the system's roots). Only tests set
// it, to trust their own gateway's certificate.
var gatewayHTTP *http.Client

// newWorkflows builds the Workflows tab: the workflow engine's panel,
// pointed at the engine of the current mode (see workflowEndpoint).
func (u *UI) newWorkflows() *workflows.Panel {
	u.wfEnd.Store(&workflows.Endpoint{})
	return workflows.NewEndpoint(func() workflows.Endpoint { return *u.wfEnd.Load() }, u.win, u.do)
}

// syncWorkflows follows the mode, the service sidecar's state and the
// gateway token; the panel clears the shown run when its engine changes,
// and shows its placeholder when there is none. UI thread.
func (u *UI) syncWorkflows() {
	if u.wf == nil {
		return
	}
	ep := u.workflowEndpoint()
	if ep != *u.wfEnd.Load() {
		u.wfEnd.Store(&ep)
		u.wf.Refresh()
	}
}

// workflowEndpoint is the engine of the current mode: in Service mode the
// service sidecar once it is Ready; in Connected mode the gateway, with the
// saved token (or $OUTRIGGER_GATEWAY_TOKEN); none in Standalone mode.
func (u *UI) workflowEndpoint() workflows.Endpoint {
	if u.d.Modes == nil {
		return workflows.Endpoint{}
	}
	switch m := u.d.Modes.Current(); m.Kind {
	case modes.Service:
		if m.ServiceName != nil {
			name := *m.ServiceName
			switch st := u.statuses[name]; st.State {
			case supervisor.Ready:
				return workflows.Endpoint{URL: st.URL, What: "the local " + name}
			case "":
				return workflows.Endpoint{Waiting: name + " is not ready yet"}
			default:
				return workflows.Endpoint{Waiting: name + " is not ready yet (" + string(st.State) + ")"}
			}
		}
	case modes.Connected:
		if m.ServerURL != nil && *m.ServerURL != "" {
			cfg := u.d.Config
			if u.d.Store != nil {
				cfg = u.d.Store.Config()
			}
			tok, from := wfapi.GatewayCredential(cfg.GatewayToken, os.Getenv)
			if from == "gateway_token" {
				from = "outrigger.toml"
			}
			return workflows.Endpoint{URL: *m.ServerURL, Token: tok, TokenFrom: from, What: "the gateway", HTTP: gatewayHTTP}
		}
	}
	return workflows.Endpoint{}
}
