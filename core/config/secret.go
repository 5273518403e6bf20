package config

import (
	"slices"
	"strings"
)

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

// MaskArgs returns a copy of a sidecar's args with the value of every flag
// whose name says secret masked ("--api-key=VALUE" and "--api-key VALUE";
// one or two dashes), and the values it masked. A value that is itself a
// flag is left alone: "--token --verbose" names no token.
func MaskArgs(args []string) (masked, secrets []string) {
	masked = slices.Clone(args)
	for i := 0; i < len(masked); i++ {
		name, ok := strings.CutPrefix(masked[i], "-")
		if !ok {
			continue
		}
		name = strings.TrimPrefix(name, "-")
		if key, v, hasValue := strings.Cut(name, "="); hasValue {
			if Secret(key) && v != "" {
				secrets = append(secrets, v)
				masked[i] = strings.TrimSuffix(masked[i], v) + Mask
			}
			continue
		}
		if Secret(name) && i+1 < len(masked) && !strings.HasPrefix(masked[i+1], "-") {
			i++
			secrets = append(secrets, masked[i])
			masked[i] = Mask
		}
	}
	return masked, secrets
}
