package jsoncheck

import (
	"encoding/json"
	"testing"
)

func TestText(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{`{"a":"plain"}`, true},
		{`{"a":"é \u00e9 \ud83d\ude00 \\ud800 \"\\"}`, true}, // a pair, and an escaped backslash before "ud800"
		{"{\"a\":\"\xff\"}", false},
		{"{\"a\":\"\xc3\"}", false},
		{`{"a":"\ud800"}`, false},
		{`{"a":"\udc00"}`, false},
		{`{"a":"\ud800\u0041"}`, false},
		{`{"a":"\uD83D\uDE00"}`, true},
		{`{"a":"\u12"}`, true}, // malformed: left to the decoder
	} {
		err := Text([]byte(tc.in))
		if (err == nil) != tc.ok {
			t.Errorf("Text(%q) = %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}

// What Text accepts, encoding/json decodes without replacing anything: a
// decode-encode round trip of every string keeps its bytes.
func FuzzText(f *testing.F) {
	for _, s := range []string{`"a"`, `"\ud800"`, "\"\xff\"", `"\ud83d\ude00"`, `"\\u"`, `["\u0000", "x"]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var v any
		if Text(b) != nil || json.Unmarshal(b, &v) != nil {
			return
		}
		s, ok := v.(string)
		if !ok {
			return
		}
		for _, r := range s {
			if r == 0xfffd && !containsReplacement(b) {
				t.Fatalf("accepted %q but it decodes with U+FFFD", b)
			}
		}
	})
}

func containsReplacement(b []byte) bool {
	for i := 0; i+5 < len(b); i++ {
		if b[i] == '\\' && b[i+1] == 'u' && (string(b[i+2:i+6]) == "fffd" || string(b[i+2:i+6]) == "FFFD") {
			return true
		}
	}
	return json.Valid(b) && string(b) != "" && containsRune(b)
}

func containsRune(b []byte) bool {
	for _, r := range string(b) {
		if r == 0xfffd {
			return true
		}
	}
	return false
}
