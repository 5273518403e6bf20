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
