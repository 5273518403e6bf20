// Package httpguard keeps a web page from driving a local HTTP service.
//
// A service on 127.0.0.1 is reachable from every page the user's browser
// opens: a page can POST to it (a "simple" request needs no CORS preflight
// when its Content-Type is text/plain or a form), and through DNS rebinding
// it can even read the answers (the class of Ollama's CVE-2024-28224). The
// guard closes both doors with three checks, in this order:
//
//  1. Host must name a loopback address, "localhost" (any port), or one of
//     Policy.Hosts. A rebinding page's requests carry its own host name, so
//     they are refused with 403.
//  2. A request from a browser context other than the service's own origin
//     must come from one of Policy.Origins: an Origin header that is neither
//     the request's own origin nor listed, or "Sec-Fetch-Site: cross-site"
//     without a listed Origin, is refused with 403. Listed origins get CORS
//     headers, and their preflights (OPTIONS) are answered here.
//  3. A request with a body on POST, PUT, PATCH or DELETE must be
//     "Content-Type: application/json" (415 otherwise), which a page can only
//     send after a CORS preflight, which check 2 has already answered.
//
// Clients that are not browsers (curl, the CLI, another service) send no
// Origin and pass unchanged. Refusals are JSON: {"error": "...", "code": "..."}.
package httpguard

import (
	"encoding/json"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
)

// Policy is what a service accepts beyond loopback.
type Policy struct {
	// Hosts are extra host names (no port) that the Host header may name,
	// compared case-insensitively. Loopback addresses and "localhost" are
	// always accepted.
	Hosts []string
	// AnyIP accepts a Host that is any IP address: for a listener on all
	// interfaces (0.0.0.0, ::), which clients reach by whichever of the
	// machine's addresses they see. A rebinding page's Host is its own DNS
	// name, never an IP literal, so this keeps check 1's protection.
	AnyIP bool
	// Origins are the browser origins ("http://localhost:5173", exact
	// scheme://host[:port]) allowed to call the service cross-origin.
	Origins []string
}

// Codes of the refusals, in the JSON body's "code".
const (
	CodeHost        = "forbidden_host"
	CodeOrigin      = "forbidden_origin"
	CodeContentType = "unsupported_media_type"
)

// Wrap returns next behind the policy's checks.
func (p Policy) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !p.hostAllowed(r.Host) {
			refuse(w, http.StatusForbidden, CodeHost, "host "+quote(r.Host)+" is not a loopback address or an allowed name")
			return
		}
		origin := r.Header.Get("Origin")
		listed := origin != "" && p.originListed(origin)
		switch {
		case listed:
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS")
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Last-Event-ID")
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		case origin != "" && !sameOrigin(origin, r):
			refuse(w, http.StatusForbidden, CodeOrigin, "origin "+quote(origin)+" is not allowed")
			return
		case origin == "" && r.Header.Get("Sec-Fetch-Site") == "cross-site":
			refuse(w, http.StatusForbidden, CodeOrigin, "cross-site requests are not allowed")
			return
		}
		if hasBody(r) && !isJSON(r.Header.Get("Content-Type")) {
			refuse(w, http.StatusUnsupportedMediaType, CodeContentType, "Content-Type must be application/json")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// HostAllowed reports whether a Host header value (with or without a port)
// passes check 1.
func (p Policy) HostAllowed(host string) bool { return p.hostAllowed(host) }

func (p Policy) hostAllowed(hostport string) bool {
	if hostport == "" {
		return false
	}
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if IsLoopbackName(host) {
		return true
	}
	if _, err := netip.ParseAddr(host); err == nil && p.AnyIP {
		return true
	}
	return slices.ContainsFunc(p.Hosts, func(h string) bool { return strings.EqualFold(h, host) })
}

// IsLoopbackName reports whether host (no port, no brackets) is "localhost"
// or a loopback IP address.
func IsLoopbackName(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && addr.Unmap().IsLoopback()
}

func (p Policy) originListed(origin string) bool {
	return slices.ContainsFunc(p.Origins, func(o string) bool {
		return strings.EqualFold(strings.TrimSuffix(o, "/"), origin)
	})
}

// sameOrigin: a page the service served itself calls back to it.
func sameOrigin(origin string, r *http.Request) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false // "null" (sandboxed frames, file://) and garbage
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return u.Scheme == scheme && strings.EqualFold(u.Host, r.Host)
}

func hasBody(r *http.Request) bool {
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		return false
	}
	return r.ContentLength != 0 || len(r.TransferEncoding) > 0 || r.Header.Get("Content-Type") != ""
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/json"
}

func quote(s string) string {
	const max = 100
	if len(s) > max {
		s = s[:max] + "…"
	}
	return `"` + s + `"`
}

func refuse(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg, "code": code})
}
