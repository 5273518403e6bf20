package suggest

import (
	"strings"
	"testing"
)

func TestClosest(t *testing.T) {
	known := []string{"name", "port", "auto_start", "max_retries", "depends_on", "env"}
	for word, want := range map[string]string{
		"prot":                        "port",        // two letters swapped
		"autoStart":                   "auto_start",  // style alias
		"Depends-On":                  "depends_on",  // case and separator
		"max_retry":                   "max_retries", // a third of the word
		"nme":                         "name",        // short word, one letter
		"evn":                         "",            // short word, two letters off
		"listen":                      "",            // nothing near
		"port" + "xxx":                "",            // three off for a seven-letter word
		strings.Repeat("p", MaxLen+1): "",
	} {
		if got := Closest(word, known); got != want {
			t.Errorf("Closest(%.20q) = %q, want %q", word, got, want)
		}
	}
}

func TestLevenshtein(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"a", "", 1}, {"kitten", "sitting", 3}, {"port", "prot", 2}, {"héllo", "hello", 1}} {
		if got := levenshtein(tc.a, tc.b); got != tc.want {
			t.Errorf("levenshtein(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
