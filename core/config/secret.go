package config

import "strings"

// Mask replaces a secret value wherever one would be shown or logged.
const Mask = "••••••"

// secretWords mark an environment variable as secret (SPEC "Sidecars").
var secretWords = []string{"PASSWORD", "SECRET", "TOKEN", "KEY"}

// Secret reports whether the environment variable key holds a secret: its
// name contains PASSWORD, SECRET, TOKEN or KEY, in any case
// (POSTGRES_PASSWORD, api_key, GITHUB_TOKEN). Such values are masked in the
// UI and never logged.
func Secret(key string) bool {
	k := strings.ToUpper(key)
	for _, w := range secretWords {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// GatewayTokenEnv names the environment variable that supplies the
// gateway's bearer token when outrigger.toml has none (headless and CI
// runs, where a token should not be written to a file).
const GatewayTokenEnv = "OUTRIGGER_GATEWAY_TOKEN"

// GatewayCredential is the bearer token to send to the gateway and where
// it came from: gateway_token when set (what the user saved in the window
// wins), else $OUTRIGGER_GATEWAY_TOKEN read through getenv (nil: none),
// else "" and "". The token is a secret: show source, never the token.
func (c Config) GatewayCredential(getenv func(string) string) (token, source string) {
	if c.GatewayToken != "" {
		return c.GatewayToken, "gateway_token"
	}
	if getenv != nil {
		if t := strings.TrimSpace(getenv(GatewayTokenEnv)); t != "" {
			return t, "$" + GatewayTokenEnv
		}
	}
	return "", ""
}
