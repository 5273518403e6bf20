// Package jsoncheck finds text in a JSON document that a decoder would
// silently change: invalid UTF-8 and lone UTF-16 surrogates (\ud800 alone),
// both of which encoding/json turns into U+FFFD. The services refuse such
// input with 400 rather than store or answer something other than what was
// sent (so two different inputs never become one).
package jsoncheck

import (
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// Text returns nil when b is valid UTF-8 and every \u escape in it is a
// whole code point; otherwise an error naming the byte offset.
func Text(b []byte) error {
	if !utf8.Valid(b) {
		for i := 0; i < len(b); {
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n == 1 {
				return fmt.Errorf("invalid UTF-8 at byte %d", i)
			}
			i += n
		}
	}
	// In valid JSON a backslash only occurs inside strings, as an escape.
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		if i+1 >= len(b) {
			return nil // truncated: the JSON decoder reports it
		}
		if b[i+1] != 'u' {
			i++ // skip the escaped character (it may be a backslash)
			continue
		}
		r, ok := hex4(b, i+2)
		if !ok {
			return nil // malformed escape: the JSON decoder reports it
		}
		switch {
		case utf16.IsSurrogate(r) && r < 0xdc00: // high: a low one must follow
			lo, ok := rune(0), false
			if i+7 < len(b) && b[i+6] == '\\' && b[i+7] == 'u' {
				lo, ok = hex4(b, i+8)
			}
			if !ok || lo < 0xdc00 || lo > 0xdfff {
				return fmt.Errorf("lone UTF-16 surrogate \\u%04x at byte %d", r, i)
			}
			i += 11
		case utf16.IsSurrogate(r):
			return fmt.Errorf("lone UTF-16 surrogate \\u%04x at byte %d", r, i)
		default:
			i += 5
		}
	}
	return nil
}

func hex4(b []byte, at int) (rune, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[at : at+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}
