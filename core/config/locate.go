package config

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// lines maps every key of a TOML document to the line it is written on.
// BurntSushi/toml keeps positions per key name only ("sidecar.port"), not
// per array element, so with several [[sidecar]] tables its positions point
// at the last one; this small scanner walks the (already validated) text
// itself. A path is the key's parts, with "#N" for the Nth element of an
// array (of tables, or of inline tables):
//
//	sidecar #1 restart policy    →  [[sidecar]] no. 2, its restart.policy
type lines struct{ m map[string]int }

func pathKey(parts []string) string { return strings.Join(parts, "\x00") }

func elem(i int) string { return "#" + strconv.Itoa(i) }

// at returns the line of path, or of its nearest enclosing key written in
// the file, or 0.
func (l *lines) at(path ...string) int {
	if l == nil {
		return 0
	}
	for n := len(path); n > 0; n-- {
		if line, ok := l.m[pathKey(path[:n])]; ok {
			return line
		}
	}
	return 0
}

type scanner struct {
	src    []byte
	i      int
	line   int
	m      map[string]int
	arrays map[string]int // array-of-tables path → elements seen
}

// locate scans src. It never fails: on text it does not understand it
// returns what it found so far (the TOML library has already accepted the
// document, so that does not happen in practice).
func locate(src []byte) (l *lines) {
	s := &scanner{src: src, line: 1, m: map[string]int{}, arrays: map[string]int{}}
	l = &lines{m: s.m}
	defer func() { _ = recover() }()
	s.document()
	return l
}

func (s *scanner) peek(off int) byte {
	if s.i+off < len(s.src) {
		return s.src[s.i+off]
	}
	return 0
}

func (s *scanner) eof() bool { return s.i >= len(s.src) }

// next consumes one byte, counting lines.
func (s *scanner) next() {
	if s.i < len(s.src) {
		if s.src[s.i] == '\n' {
			s.line++
		}
		s.i++
	}
}

func (s *scanner) has(prefix string) bool {
	return strings.HasPrefix(string(s.src[s.i:min(len(s.src), s.i+len(prefix))]), prefix)
}

func (s *scanner) skipSpace() {
	for c := s.peek(0); c == ' ' || c == '\t'; c = s.peek(0) {
		s.next()
	}
}

// skipBlank skips spaces, newlines and comments.
func (s *scanner) skipBlank() {
	for !s.eof() {
		switch s.peek(0) {
		case ' ', '\t', '\r', '\n':
			s.next()
		case '#':
			for !s.eof() && s.peek(0) != '\n' {
				s.next()
			}
		default:
			return
		}
	}
}

func (s *scanner) record(path []string, line int) { s.m[pathKey(path)] = line }

func (s *scanner) recordNew(path []string, line int) {
	if _, ok := s.m[pathKey(path)]; !ok {
		s.m[pathKey(path)] = line
	}
}

func (s *scanner) document() {
	var table []string
	for {
		s.skipBlank()
		if s.eof() {
			return
		}
		start := s.i
		if s.peek(0) == '[' {
			line := s.line
			array := s.peek(1) == '['
			s.next()
			if array {
				s.next()
			}
			parts := s.keyParts()
			s.skipSpace()
			for s.peek(0) == ']' {
				s.next()
			}
			table = s.resolve(parts, array, line)
		} else {
			s.keyValue(table)
		}
		if s.i == start {
			s.next()
		}
	}
}

// resolve turns a table header into a path, choosing the last element of
// every array of tables on the way ([sidecar.restart] after the third
// [[sidecar]] is "sidecar #2 restart").
func (s *scanner) resolve(parts []string, array bool, line int) []string {
	var cur []string
	for k, p := range parts {
		cur = append(cur, p)
		key := pathKey(cur)
		if k == len(parts)-1 && array {
			n := s.arrays[key]
			s.arrays[key] = n + 1
			s.recordNew(cur, line)
			cur = append(cur, elem(n))
		} else if n, ok := s.arrays[key]; ok && n > 0 {
			cur = append(cur, elem(n-1))
		}
		s.recordNew(cur, line)
	}
	if !array && len(cur) > 0 {
		s.record(cur, line)
	}
	return cur
}

// keyParts reads a possibly dotted, possibly quoted key.
func (s *scanner) keyParts() []string {
	var parts []string
	for {
		s.skipSpace()
		switch c := s.peek(0); {
		case c == '"':
			parts = append(parts, s.basicString())
		case c == '\'':
			parts = append(parts, s.literalString())
		case isBare(c):
			start := s.i
			for isBare(s.peek(0)) {
				s.next()
			}
			parts = append(parts, string(s.src[start:s.i]))
		default:
			return parts
		}
		s.skipSpace()
		if s.peek(0) != '.' {
			return parts
		}
		s.next()
	}
}

func isBare(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

func (s *scanner) keyValue(table []string) {
	line := s.line
	parts := s.keyParts()
	if len(parts) == 0 {
		return
	}
	s.skipSpace()
	if s.peek(0) == '=' {
		s.next()
	}
	path := append(append([]string(nil), table...), parts...)
	for n := len(table) + 1; n < len(path); n++ {
		s.recordNew(path[:n], line)
	}
	s.record(path, line)
	s.value(path)
}

func (s *scanner) value(path []string) {
	s.skipSpace()
	switch c := s.peek(0); c {
	case '"':
		if s.has(`"""`) {
			s.multiline(`"`)
		} else {
			s.basicString()
		}
	case '\'':
		if s.has(`'''`) {
			s.multiline(`'`)
		} else {
			s.literalString()
		}
	case '[':
		s.next()
		for idx := 0; ; {
			s.skipBlank()
			switch s.peek(0) {
			case 0:
				return
			case ']':
				s.next()
				return
			case ',':
				s.next()
				idx++
				continue
			}
			start := s.i
			p := append(append([]string(nil), path...), elem(idx))
			s.record(p, s.line)
			s.value(p)
			if s.i == start {
				s.next()
			}
		}
	case '{':
		s.next()
		for {
			s.skipBlank()
			switch s.peek(0) {
			case 0:
				return
			case '}':
				s.next()
				return
			case ',':
				s.next()
				continue
			}
			start := s.i
			s.keyValue(path)
			if s.i == start {
				s.next()
			}
		}
	default: // number, boolean, date-time (which may hold a space)
		for !s.eof() {
			switch s.peek(0) {
			case ',', ']', '}', '#', '\r', '\n':
				return
			}
			s.next()
		}
	}
}

// multiline skips a multi-line string (triple quotes); q is the quote.
func (s *scanner) multiline(q string) {
	for range 3 {
		s.next()
	}
	end := q + q + q
	for !s.eof() {
		if q == `"` && s.peek(0) == '\\' {
			s.next()
			s.next()
			continue
		}
		if s.has(end) {
			for range 3 {
				s.next()
			}
			// Up to two more quotes belong to the content: """a"""""
			for k := 0; k < 2 && s.has(q); k++ {
				s.next()
			}
			return
		}
		s.next()
	}
}

func (s *scanner) literalString() string {
	s.next()
	start := s.i
	for !s.eof() && s.peek(0) != '\'' && s.peek(0) != '\n' {
		s.next()
	}
	v := string(s.src[start:s.i])
	if s.peek(0) == '\'' {
		s.next()
	}
	return v
}

// basicString reads a "..." string, undoing escapes so that quoted keys
// match the names the TOML library reports.
func (s *scanner) basicString() string {
	s.next()
	var b strings.Builder
	for !s.eof() {
		c := s.peek(0)
		switch c {
		case '"':
			s.next()
			return b.String()
		case '\n':
			return b.String()
		case '\\':
			s.next()
			e := s.peek(0)
			s.next()
			switch e {
			case 'b':
				b.WriteByte('\b')
			case 't':
				b.WriteByte('\t')
			case 'n':
				b.WriteByte('\n')
			case 'f':
				b.WriteByte('\f')
			case 'r':
				b.WriteByte('\r')
			case 'e':
				b.WriteByte(0x1b)
			case 'x', 'u', 'U':
				n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
				end := min(len(s.src), s.i+n)
				if r, err := strconv.ParseUint(string(s.src[s.i:end]), 16, 32); err == nil && utf8.ValidRune(rune(r)) {
					b.WriteRune(rune(r))
				}
				for s.i < end {
					s.next()
				}
			default:
				b.WriteByte(e)
			}
		default:
			b.WriteByte(c)
			s.next()
		}
	}
	return b.String()
}
