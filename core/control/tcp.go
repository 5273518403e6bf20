package control

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"outrigger/core/config"
	"outrigger/core/safefile"
	"outrigger/internal/httpguard"
)

// TokenFileName is the bearer token's file, next to outrigger.toml.
const TokenFileName = "api-token"

// TokenPath is where the token of the configuration at configFile lives.
func TokenPath(configFile string) string {
	return filepath.Join(filepath.Dir(configFile), TokenFileName)
}

// Token returns the TCP listener's bearer token and its file (for the
// Settings window: show it, or where to find it), making a random one,
// written 0600, the first time.
func Token(configFile string) (path, token string, err error) {
	path = TokenPath(configFile)
	token, err = loadOrCreateToken(path)
	return path, token, err
}

func loadOrCreateToken(path string) (string, error) {
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		tok := strings.TrimSpace(string(data))
		if len(tok) >= 32 && !strings.ContainsAny(tok, " \t\r\n") {
			if runtime.GOOS != "windows" {
				if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
					if err := os.Chmod(path, 0o600); err != nil {
						return "", fmt.Errorf("api token %s is readable by others and cannot be made private: %w", path, err)
					}
				}
			}
			return tok, nil
		}
		// Too short or mangled: replace it rather than accept a weak token.
	case !errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("api token: %w", err)
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("api token: %w", err)
	}
	tok := hex.EncodeToString(b[:])
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("api token: %w", err)
	}
	if err := safefile.Write(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("api token: %w", err)
	}
	return tok, nil
}

// CheckListen refuses an [api] listen address that is not loopback unless
// allow_remote is set: the API starts and stops the user's services.
func CheckListen(api config.API) error {
	host, _, err := net.SplitHostPort(api.Listen)
	if err != nil {
		return fmt.Errorf("[api] listen = %s: %w", clip(api.Listen), err)
	}
	if httpguard.IsLoopbackName(strings.Trim(host, "[]")) || api.AllowRemote {
		return nil
	}
	return fmt.Errorf("[api] listen = %q is not a loopback address: the control API would be reachable from other machines; "+
		"use 127.0.0.1 or localhost, or set allow_remote = true in [api] if that is really what you want", api.Listen)
}

// ListenTCP starts the optional TCP listener of [api]: the same routes,
// behind the Host/Origin/Content-Type guard (CORS only for
// allowed_origins) and a bearer token (see Token). It returns the address
// it listens on; it serves until Close.
func (s *Server) ListenTCP(api config.API, configFile string) (net.Addr, error) {
	if err := CheckListen(api); err != nil {
		return nil, err
	}
	_, token, err := Token(configFile)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", api.Listen)
	if err != nil {
		return nil, fmt.Errorf("[api] listen = %q: %w", api.Listen, err)
	}
	policy := httpguard.Policy{Origins: api.AllowedOrigins}
	if api.AllowRemote {
		host, _, _ := net.SplitHostPort(api.Listen)
		host = strings.Trim(host, "[]")
		if ip, err := netip.ParseAddr(host); host == "" || (err == nil && ip.IsUnspecified()) {
			// All interfaces: clients name whichever address they reach
			// us by. Naming only "0.0.0.0" refused every one of them.
			policy.AnyIP = true
		} else {
			policy.Hosts = []string{host}
		}
	}
	h := policy.Wrap(requireToken(token, s.mux))
	ln = &limitListener{Listener: ln, slots: make(chan struct{}, maxTCPConns)}
	s.mu.Lock()
	closed := s.closed
	if !closed {
		s.serving.Add(1) // until the goroutine below has called serve
	}
	s.mu.Unlock()
	if closed {
		ln.Close()
		return nil, errors.New("control: server closed")
	}
	go func() {
		defer s.serving.Done()
		if err := s.serve(ln, h); err != nil {
			s.log.Error("api: TCP listener stopped", "addr", ln.Addr().String(), "err", err)
		}
	}()
	return ln.Addr(), nil
}

// requireToken checks "Authorization: Bearer <token>" (or, for
// EventSource, which cannot set headers, ?access_token= on a GET).
func requireToken(token string, next http.Handler) http.Handler {
	want := []byte(token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := ""
		if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "Bearer ") {
			got = strings.TrimSpace(a[7:])
		} else if r.Method == http.MethodGet {
			got = r.URL.Query().Get("access_token")
		}
		if got == "" || subtle.ConstantTimeCompare([]byte(got), want) != 1 {
			// Any local user can connect: one without the token must not
			// keep the connection (and its slot, see maxTCPConns) idle
			// for IdleTimeout.
			w.Header().Set("Connection", "close")
			w.Header().Set("WWW-Authenticate", `Bearer realm="outrigger"`)
			fail(w, http.StatusUnauthorized, CodeUnauthorized, "missing or wrong bearer token (Authorization: Bearer <token>; the token is in "+TokenFileName+" next to outrigger.toml)")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// maxTCPConns bounds the TCP listener's open connections. Any local user
// can connect to it, token or not, and each connection holds a file
// descriptor of the app, which the sidecars' pipes and log files need too:
// without a bound, a flood of connections made the app's next spawn fail
// with "too many open files". One past the bound is answered 503 and
// closed at once.
const maxTCPConns = 128

// tooManyConns is the whole answer to a connection past maxTCPConns.
var tooManyConns = func() string {
	body := `{"error":"too many connections to the control API (the limit is ` + strconv.Itoa(maxTCPConns) + `)","code":"` + CodeUnavailable + `"}` + "\n"
	return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
}()

// limitListener hands out at most cap(slots) connections at a time.
type limitListener struct {
	net.Listener
	slots chan struct{}
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.slots <- struct{}{}:
			return &slotConn{Conn: c, free: l.slots}, nil
		default:
			// A few bytes into a fresh socket's empty buffer: this never
			// waits, but a deadline makes sure of it.
			_ = c.SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = io.WriteString(c, tooManyConns)
			_ = c.Close()
		}
	}
}

// slotConn gives its slot back when it is closed (once, however often).
type slotConn struct {
	net.Conn
	free chan struct{}
	once sync.Once
}

func (c *slotConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { <-c.free })
	return err
}

// CloseWrite lets the HTTP server half-close a connection whose request
// body it did not read (after a 413, say), so the client gets the answer
// rather than a reset: it looks for this method on the connection.
func (c *slotConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
