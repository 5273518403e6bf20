package wfapi

import (
	"fmt"
	"net/http"
	"strings"
)

// GatewayTokenEnv names the environment variable that supplies the
// gateway's bearer token when outrigger.toml has none (headless and CI
// runs, where a token should not be written to a file).
const GatewayTokenEnv = "OUTRIGGER_GATEWAY_TOKEN"

// GatewayCredential is the bearer token to send to the gateway and where it
// came from: the saved gateway_token when set (what the user saved in the
// window wins), else $OUTRIGGER_GATEWAY_TOKEN read through getenv (nil:
// none), else "" and "". The token is a secret: show source, never the token.
func GatewayCredential(saved string, getenv func(string) string) (token, source string) {
	if saved != "" {
		return saved, "gateway_token"
	}
	if getenv != nil {
		if t := strings.TrimSpace(getenv(GatewayTokenEnv)); t != "" {
			return t, "$" + GatewayTokenEnv
		}
	}
	return "", ""
}

// Authorize puts token on req as "Authorization: Bearer …" — every request
// to the gateway goes through it, the Workflows tab's and the mode
// controller's /health check alike. A token is never sent over plain
// http:// to a host that is not loopback: that is ErrPlaintext, and req is
// left as it was. No token: nothing to do.
func Authorize(req *http.Request, token string) error {
	if token == "" {
		return nil
	}
	if Plaintext(req.URL.String()) {
		return fmt.Errorf("%w to %s: use https:// for a gateway that is not on this machine", ErrPlaintext, req.URL.Host)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	return nil
}
