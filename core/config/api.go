package config

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
)

// API is the [api] table: the control API's optional loopback TCP
// listener for a browser-based frontend. The instance's own socket (or
// pipe) is always on; the TCP listener only when Listen is set.
//
//	[api]
//	listen = "127.0.0.1:7777"                 # off when empty (the default)
//	allowed_origins = ["http://localhost:5173"]
//	allow_remote = false                      # a non-loopback listen is refused unless true
type API struct {
	Listen         string   // host:port; "" turns the TCP listener off
	AllowedOrigins []string // exact scheme://host[:port] origins answered with CORS
	AllowRemote    bool     // allow Listen to name a non-loopback address
}

// APIFile is the [api] table as written; nil fields are not set. merge
// matches its fields to API's by name.
type APIFile struct {
	Listen         *string  `toml:"listen"`
	AllowedOrigins []string `toml:"allowed_origins"`
	AllowRemote    *bool    `toml:"allow_remote"`
}

// The [api] checks. Whether a non-loopback address is allowed is the
// listener's decision at start (it needs allow_remote), so a configuration
// that asks for one still loads and the rest of the app runs.

func checkAPIListen(s string) string {
	host, port, err := net.SplitHostPort(s)
	n, nerr := strconv.Atoi(port)
	switch {
	case err != nil:
		return fmt.Sprintf("must be host:port, for example \"127.0.0.1:7777\", got %q", clip(s))
	case host == "":
		return fmt.Sprintf("needs a host (an empty host listens on every interface), for example \"127.0.0.1:%s\"", clip(port))
	case nerr != nil || n < 1 || n > 65535:
		return fmt.Sprintf("port must be 1..65535, got %q", clip(port))
	}
	return ""
}

func checkOrigin(o string) string {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Sprintf("must be an origin such as \"http://localhost:5173\" (scheme://host[:port], no path), got %q", clip(o))
	}
	return ""
}
