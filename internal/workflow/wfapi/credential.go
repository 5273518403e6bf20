package wfapi

import "strings"

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
