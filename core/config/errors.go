package config

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"
)

// Error is one problem in a configuration. Load, Open, Store.Update and Validate
// return one *Error, or several joined with errors.Join (one per line of
// the message, ordered by line); errors.As finds the first.
//
// Its text is "file:line: sidecar "name": key: message", leaving out what is
// not known, for example
//
//	outrigger.toml:9: sidecar "xgen-workflow": port: must be 1..65535, got 70000
//	outrigger.toml:7: sidecar "xgen-workflow": unknown key "sidecar.prot" (did you mean "port"?)
type Error struct {
	File    string // the file's path as given to Load, ReadFile or Open; "" when not from a file
	Line    int    // 1-based; 0 when unknown
	Sidecar string // the sidecar's name ("#N" for the Nth [[sidecar]] when it has none); "" for top-level keys
	Key     string // key relative to the sidecar or the top level, dotted ("port", "restart.policy"); may be ""
	Msg     string

	keyInMsg bool // Msg already names the key (unknown keys)
}

func (e *Error) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	case e.File != "":
		b.WriteString(e.File + ": ")
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	switch {
	case strings.HasPrefix(e.Sidecar, "#"):
		fmt.Fprintf(&b, "sidecar %s: ", e.Sidecar)
	case e.Sidecar != "":
		fmt.Fprintf(&b, "sidecar %q: ", e.Sidecar)
	}
	if e.Key != "" && !e.keyInMsg {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// joinErrors orders errs by line (stable otherwise) and joins them.
func joinErrors(errs []*Error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	// Problems without a line (a default, the whole file) go last.
	slices.SortStableFunc(errs, func(a, b *Error) int {
		return cmp.Compare(cmp.Or(a.Line, math.MaxInt), cmp.Or(b.Line, math.MaxInt))
	})
	all := make([]error, 0, min(len(errs), MaxErrors+1))
	for _, e := range errs[:min(len(errs), MaxErrors)] {
		all = append(all, e)
	}
	if n := len(errs) - MaxErrors; n > 0 {
		all = append(all, &Error{File: errs[0].File, Msg: fmt.Sprintf("and %d more problems not listed", n)})
	}
	return errors.Join(all...)
}

// clip shortens text from the user's file that goes into a message, so
// that a 5 MB value is not copied into the log.
func clip(s string) string { return clipTo(s, MaxQuote) }

// maxLibMessage bounds a message of the TOML library: it quotes a token of
// the file at most, but its own words run past MaxQuote ("expected end of
// table array name delimiter ']', but got '\n' instead" is 68 bytes).
const maxLibMessage = 4 * MaxQuote

func clipTo(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%d bytes)", s[:cut], len(s))
}
