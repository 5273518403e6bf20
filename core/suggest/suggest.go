// Package suggest finds the word a user probably meant: the "did you mean"
// of an unknown key.
package suggest

import "strings"

// MaxLen is the longest word given a suggestion: the distance costs the
// product of the two lengths, and a longer word is no typo of a key.
const MaxLen = 64

// Closest returns the known word closest to word, or "" when none is
// close. Case, "_" and "-" are ignored first (autoStart is auto_start);
// then a few typed letters may differ: one for a word of three letters or
// fewer, else two or a third of the word, whichever is more.
func Closest(word string, known []string) string {
	if len(word) > MaxLen {
		return ""
	}
	norm := func(s string) string {
		return strings.NewReplacer("_", "", "-", "").Replace(strings.ToLower(s))
	}
	best, bestD := "", 1<<30
	for _, c := range known {
		if norm(c) == norm(word) {
			return c
		}
		d := levenshtein(strings.ToLower(word), c)
		if d < bestD {
			best, bestD = c, d
		}
	}
	limit := max(2, len(word)/3)
	if len(word) <= 3 {
		limit = 1
	}
	if bestD <= limit {
		return best
	}
	return ""
}

// levenshtein is the number of runes to insert, delete or replace to turn
// a into b.
func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
