package wfapi

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Errors of the way to the service, rather than of the service: errors.Is
// finds them in what a Client call returns.
var (
	// ErrRefused: the server answered 401 or 403 (a gateway that does not
	// accept the token, or wants one).
	ErrRefused = errors.New("the gateway refused the token")
	// ErrUntrusted: the server's TLS certificate does not verify against
	// the system's roots (or the one it shows is for another host).
	ErrUntrusted = errors.New("certificate not trusted")
	// ErrUnreachable: no connection could be made (refused, no route, name
	// not found, dial timeout).
	ErrUnreachable = errors.New("unreachable")
	// ErrPlaintext: the Client has a token and a plain http:// URL whose
	// host is not loopback; nothing was sent.
	ErrPlaintext = errors.New("refusing to send the token over plain http")
)

// DefaultHTTP is the client used when Client.HTTP is nil: NewHTTPClient
// with the system's roots.
var DefaultHTTP = NewHTTPClient(nil)

// NewHTTPClient makes a client for the service or a gateway: TLS 1.2 or
// newer, certificates verified against roots — nil means the system's
// (on Unix, SSL_CERT_FILE and SSL_CERT_DIR replace them; they are read
// once per process) and only tests pass another — no overall timeout (a
// stream lasts as long as its execution; calls are bounded by their ctx),
// and no redirect from https to http. Verification is never turned off.
func NewHTTPClient(roots *x509.CertPool) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots}
	t.TLSHandshakeTimeout = 15 * time.Second
	return &http.Client{Transport: t, CheckRedirect: noDowngrade}
}

// noDowngrade refuses a redirect from https to http: the request may carry
// the token (net/http drops it only when the host changes) and its body.
func noDowngrade(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	if via[0].URL.Scheme == "https" && req.URL.Scheme != "https" {
		return fmt.Errorf("refusing a redirect from https to %s", req.URL.Redacted())
	}
	return nil
}

// Plaintext reports whether baseURL is plain http:// to a host that is not
// loopback: what is sent there can be read on the way.
func Plaintext(baseURL string) bool {
	u, err := url.Parse(baseURL)
	return err == nil && strings.EqualFold(u.Scheme, "http") && !loopback(u.Hostname())
}

func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ConnError is a failure to reach the server: Kind is ErrUntrusted or
// ErrUnreachable, Err the cause as net/http reported it.
type ConnError struct {
	Kind error
	Host string // host:port
	Err  error
}

func (e *ConnError) Error() string {
	switch e.Kind {
	case ErrUntrusted:
		return fmt.Sprintf("certificate not trusted: %s presented a TLS certificate this system does not trust (%v)", e.Host, e.Err)
	case ErrUnreachable:
		return fmt.Sprintf("%s is unreachable (%v)", e.Host, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Host, e.Err)
}

func (e *ConnError) Unwrap() []error { return []error{e.Kind, e.Err} }

// classify turns a transport error into a *ConnError when it is one of the
// kinds a user can act on; other errors are returned as they are.
func classify(host string, err error) error {
	var (
		cve *tls.CertificateVerificationError
		uae x509.UnknownAuthorityError
		hne x509.HostnameError
		cie x509.CertificateInvalidError
	)
	switch {
	case errors.As(err, &cve):
		return &ConnError{Kind: ErrUntrusted, Host: host, Err: cve.Err}
	case errors.As(err, &uae):
		return &ConnError{Kind: ErrUntrusted, Host: host, Err: uae}
	case errors.As(err, &hne):
		return &ConnError{Kind: ErrUntrusted, Host: host, Err: hne}
	case errors.As(err, &cie):
		return &ConnError{Kind: ErrUntrusted, Host: host, Err: cie}
	}
	var (
		dns *net.DNSError
		op  *net.OpError
	)
	switch {
	case errors.As(err, &dns):
		return &ConnError{Kind: ErrUnreachable, Host: host, Err: dns}
	case errors.As(err, &op) && op.Op == "dial":
		return &ConnError{Kind: ErrUnreachable, Host: host, Err: op.Err}
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return &ConnError{Kind: ErrUnreachable, Host: host, Err: err}
	}
	return err
}

// AuthError is a 401 or 403 reply. It is also the *HTTPError it wraps.
type AuthError struct {
	HTTP      *HTTPError
	TokenSent bool
}

func (e *AuthError) Error() string {
	what := fmt.Sprintf("%d %s", e.HTTP.StatusCode, httpStatusText(e.HTTP.StatusCode))
	if e.HTTP.Message != "" {
		what += ": " + e.HTTP.Message
	}
	if !e.TokenSent {
		return "the gateway refused the request: it wants a token and none is set (" + what + ")"
	}
	return "the gateway refused the token (" + what + ")"
}

func (e *AuthError) Unwrap() []error { return []error{ErrRefused, e.HTTP} }

func httpStatusText(code int) string { return http.StatusText(code) }
