package config

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// Limits on outrigger.toml, checked on the raw bytes before the TOML
// library sees them: the library's memory grows with the square of the
// nesting depth (80 KB of a = {b = {b = ...}} ran out of memory), and a
// file of 100 000 tables is no configuration anyone wrote.
const (
	MaxFileSize = 1 << 20 // bytes; a real file is a few KB
	MaxDepth    = 16      // tables, arrays and dotted-key parts, nested; the schema needs 5
	MaxErrors   = 20      // problems listed in one error; the rest are counted
	MaxQuote    = 64      // bytes of a bad value quoted in a message
)

// lines maps where a key is written: a path is the key's parts with "#N"
// for the Nth table of an array of tables ("sidecar", "#1", "port"). The
// library keeps one position per dotted name, so with several [[sidecar]]
// tables its positions point at the last one; this index keeps each.
// Keys inside inline tables and arrays are found at the line of the
// statement that holds them.
type lines map[string]int

func pathKey(parts []string) string { return strings.Join(parts, "\x00") }

func elem(i int) string { return "#" + strconv.Itoa(i) }

// at returns the line of path, or of its nearest enclosing key written in
// the file, or 0.
func (l lines) at(path ...string) int {
	for n := len(path); n > 0; n-- {
		if line, ok := l[pathKey(path[:n])]; ok {
			return line
		}
	}
	return 0
}

// scanner makes one linear pass over any bytes (valid TOML or not) that
// measures nesting and records the line of every statement. It never
// fails on text it does not understand; the library reports syntax.
type scanner struct {
	src          []byte
	i, line      int
	depth, dline int // the deepest nesting seen, and its line
	m            lines
	arrays       map[string]int // array-of-tables path → tables seen
}

// scan checks the limits and indexes the lines of src.
func scan(file string, src []byte) (lines, *Error) {
	if len(src) > MaxFileSize {
		return nil, &Error{File: file, Msg: fmt.Sprintf("is %d bytes, more than the %d a configuration may have; not read", len(src), MaxFileSize)}
	}
	s := &scanner{src: src, line: 1, m: lines{}, arrays: map[string]int{}}
	var table []string
	for s.blank(true); s.i < len(s.src); s.blank(true) {
		start, line := s.i, s.line
		if s.src[s.i] == '[' {
			array := s.peek(1) == '['
			s.i++
			if array {
				s.i++
			}
			parts := s.key(0)
			for s.i < len(s.src) && (s.src[s.i] == ']' || s.src[s.i] == ' ' || s.src[s.i] == '\t') {
				s.i++
			}
			table = s.resolve(parts, array, line)
		} else if parts := s.key(len(table)); len(parts) > 0 {
			path := append(append([]string(nil), table...), parts...)
			for n := len(table) + 1; n < len(path); n++ {
				s.record(path[:n], line)
			}
			s.m[pathKey(path)] = line
			s.value(len(path))
		}
		if s.i == start {
			s.i++ // not TOML; the library says why
		}
		if s.depth > MaxDepth {
			return nil, &Error{File: file, Line: s.dline, Msg: fmt.Sprintf("nested more than %d deep; not read", MaxDepth)}
		}
	}
	return s.m, nil
}

func (s *scanner) peek(off int) byte {
	if s.i+off < len(s.src) {
		return s.src[s.i+off]
	}
	return 0
}

func (s *scanner) nest(d int) {
	if d > s.depth {
		s.depth, s.dline = d, s.line
	}
}

// blank skips spaces, comments and (with newlines) line ends.
func (s *scanner) blank(newlines bool) {
	for s.i < len(s.src) {
		switch c := s.src[s.i]; {
		case c == ' ' || c == '\t' || c == '\r':
		case c == '\n' && newlines:
			s.line++
		case c == '#':
			for s.i < len(s.src) && s.src[s.i] != '\n' {
				s.i++
			}
			continue
		default:
			return
		}
		s.i++
	}
}

// key reads a possibly dotted, possibly quoted key and the "=" after it;
// outer is the nesting it is written in.
func (s *scanner) key(outer int) []string {
	var parts []string
	for {
		s.blank(false)
		c := s.peek(0)
		switch {
		case c == '"' || c == '\'':
			k := s.str()
			if u, err := strconv.Unquote(`"` + k + `"`); err == nil && c == '"' {
				k = u
			}
			parts = append(parts, k)
		case isBare(c):
			start := s.i
			for isBare(s.peek(0)) {
				s.i++
			}
			parts = append(parts, string(s.src[start:s.i]))
		default:
			return parts
		}
		s.nest(outer + len(parts))
		if s.blank(false); s.peek(0) != '.' {
			if s.peek(0) == '=' {
				s.i++
			}
			return parts
		}
		s.i++
	}
}

func isBare(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// str skips a string of any of TOML's four kinds and returns what is
// between its quotes.
func (s *scanner) str() string {
	q := s.src[s.i]
	delim := []byte{q}
	if bytes.HasPrefix(s.src[s.i:], []byte{q, q, q}) {
		delim = []byte{q, q, q}
	}
	s.i += len(delim)
	start := s.i
	for ; s.i < len(s.src); s.i++ {
		switch c := s.src[s.i]; {
		case c == '\\' && q == '"':
			s.i++ // to the escaped character, which the loop skips
			if s.peek(0) == '\n' {
				s.line++
			}
		case c == '\n' && len(delim) == 1:
			return string(s.src[start:s.i]) // not closed on its line: the library says so
		case c == '\n':
			s.line++
		case bytes.HasPrefix(s.src[s.i:], delim):
			end := s.i
			s.i += len(delim)
			for k := 0; k < 2 && len(delim) == 3 && s.peek(0) == q; k++ { // """a""""" ends with content quotes
				s.i++
				end++
			}
			return string(s.src[start:end])
		}
	}
	return string(s.src[start:])
}

// value skips one value, measuring how deep its arrays, inline tables and
// their dotted keys nest.
func (s *scanner) value(outer int) {
	var open []byte // unclosed [ and {
	expectKey := false
	for s.blank(len(open) > 0); s.i < len(s.src); s.blank(len(open) > 0) {
		c := s.src[s.i]
		switch {
		case c == '\n' && len(open) == 0:
			return
		case expectKey && c != '}':
			s.key(outer + len(open))
			expectKey = false
			continue
		case c == '"' || c == '\'':
			s.str()
			continue
		case c == '[' || c == '{':
			open = append(open, c)
			s.nest(outer + len(open))
			expectKey = c == '{'
		case c == ']' || c == '}':
			if len(open) > 0 {
				open = open[:len(open)-1]
			}
			if len(open) == 0 {
				s.i++
				return
			}
		case c == ',' && len(open) > 0:
			expectKey = open[len(open)-1] == '{'
		}
		s.i++
		if s.depth > MaxDepth {
			return
		}
	}
}

// resolve turns a table header into a path, choosing the last table of
// every array of tables on the way ([sidecar.restart] after the third
// [[sidecar]] is "sidecar #2 restart").
func (s *scanner) resolve(parts []string, array bool, line int) []string {
	var cur []string
	for k, p := range parts {
		cur = append(cur, p)
		key := pathKey(cur)
		if n := s.arrays[key]; k == len(parts)-1 && array {
			s.arrays[key] = n + 1
			s.record(cur, line)
			cur = append(cur, elem(n))
		} else if n > 0 {
			cur = append(cur, elem(n-1))
		}
		s.record(cur, line)
	}
	if !array && len(cur) > 0 {
		s.m[pathKey(cur)] = line
	}
	return cur
}

func (s *scanner) record(path []string, line int) {
	if _, ok := s.m[pathKey(path)]; !ok {
		s.m[pathKey(path)] = line
	}
}
