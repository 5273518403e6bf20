package modes

import (
	"fmt"
	"strings"

	"outrigger/core/config"
)

// Kind names a mode, as written in outrigger.toml and sent to the UI.
type Kind string

const (
	Standalone Kind = "standalone" // offline: no sidecar is needed
	Service    Kind = "service"    // the local service sidecar is the backend
	Connected  Kind = "connected"  // a remote gateway is the backend
)

// Mode is the app's mode. Its JSON is what the web frontend reads,
// camelCase with null where a field does not apply:
//
//	{"mode":"service","serviceUrl":"http://127.0.0.1:8001","serviceName":"xgen-workflow","serverUrl":null}
//
// A Mode is a value: the strings its pointers point to are never changed,
// so copies may share them.
type Mode struct {
	Kind        Kind    `json:"mode"`
	ServiceURL  *string `json:"serviceUrl"`  // Service only: the sidecar's URL once it is Ready, else null
	ServiceName *string `json:"serviceName"` // Service only: the sidecar behind the mode
	ServerURL   *string `json:"serverUrl"`   // Connected only: the gateway
}

// StandaloneMode is the Standalone mode.
func StandaloneMode() Mode { return Mode{Kind: Standalone} }

// ServiceMode is Service mode backed by the sidecar name, reachable at url
// ("" when not known yet: before it is Ready).
func ServiceMode(name, url string) Mode {
	m := Mode{Kind: Service, ServiceName: &name}
	if url != "" {
		m.ServiceURL = &url
	}
	return m
}

// ConnectedMode is Connected mode with the gateway at url.
func ConnectedMode(url string) Mode { return Mode{Kind: Connected, ServerURL: &url} }

// String describes the mode for people and logs:
// "standalone", "service (xgen-workflow at http://127.0.0.1:8001)",
// "connected (https://xgen.example.com)".
func (m Mode) String() string {
	switch m.Kind {
	case Service:
		name, u := deref(m.ServiceName), deref(m.ServiceURL)
		switch {
		case name != "" && u != "":
			return fmt.Sprintf("service (%s at %s)", name, u)
		case name != "":
			return fmt.Sprintf("service (%s)", name)
		case u != "":
			return fmt.Sprintf("service (at %s)", u)
		}
		return "service"
	case Connected:
		if u := deref(m.ServerURL); u != "" {
			return fmt.Sprintf("connected (%s)", u)
		}
		return "connected"
	case "":
		return "(no mode)"
	}
	return string(m.Kind)
}

// Equal reports whether m and o are the same mode with the same fields.
func (m Mode) Equal(o Mode) bool {
	return m.Kind == o.Kind && deref(m.ServiceName) == deref(o.ServiceName) &&
		deref(m.ServiceURL) == deref(o.ServiceURL) && deref(m.ServerURL) == deref(o.ServerURL)
}

// sameChoice is Equal without the service URL (which follows the port the
// sidecar got): what is remembered in the settings.
func (m Mode) sameChoice(o Mode) bool {
	return m.Kind == o.Kind && deref(m.ServiceName) == deref(o.ServiceName) && deref(m.ServerURL) == deref(o.ServerURL)
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// Parse makes a Mode from configuration values: kind is config's mode
// ("" means the default, service), gatewayURL is used in Connected mode
// (and must then be valid), service names the Service-mode sidecar (""
// means the default, xgen-workflow).
func Parse(kind, gatewayURL, service string) (Mode, error) {
	switch Kind(strings.TrimSpace(kind)) {
	case "", Service:
		service = strings.TrimSpace(service)
		if service == "" {
			service = config.DefaultService
		}
		return ServiceMode(service, ""), nil
	case Standalone:
		return StandaloneMode(), nil
	case Connected:
		u := strings.TrimSpace(gatewayURL)
		if u == "" {
			return Mode{}, fmt.Errorf("mode: connected mode needs a gateway URL (gateway_url)")
		}
		if err := config.CheckGatewayURL(u); err != nil {
			return Mode{}, fmt.Errorf("mode: %w", err)
		}
		return ConnectedMode(u), nil
	}
	return Mode{}, fmt.Errorf("mode: must be %q, %q or %q, got %q", Standalone, Service, Connected, kind)
}

// FromConfig is the mode remembered in a loaded configuration.
func FromConfig(cfg config.Config) (Mode, error) {
	return Parse(cfg.Mode, cfg.GatewayURL, cfg.Service)
}

// validate checks that m names what it needs.
func (m Mode) validate() error {
	switch m.Kind {
	case Standalone:
		return nil
	case Service:
		if deref(m.ServiceName) == "" {
			return fmt.Errorf("service mode needs a sidecar name")
		}
		return nil
	case Connected:
		return config.CheckGatewayURL(deref(m.ServerURL))
	}
	return fmt.Errorf("unknown mode %q", m.Kind)
}
