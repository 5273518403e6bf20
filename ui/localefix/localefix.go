// Package localefix keeps Fyne from printing "Fyne error: Error parsing
// user locale C" at every start under LANG=C.UTF-8 (or POSIX.*), which
// golang.org/x/text cannot parse.
//
// Fyne reads the locale while its lang package is initialised, before
// main runs. This package imports only syscall, so by the Go spec's
// initialisation order (the lexically first package whose imports are
// ready goes next) it is initialised before os, and therefore before
// fyne.io/fyne/v2/lang. It sets LANGUAGE=en for that moment; Restore,
// called from main, puts the environment back so the sidecars inherit
// the user's own.
package localefix

import "syscall"

var (
	set       bool
	prev      string
	prevFound bool
)

func init() {
	loc := ""
	for _, k := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if v, ok := syscall.Getenv(k); ok && v != "" {
			loc = v
			break
		}
	}
	if !cOrPOSIX(loc) {
		return
	}
	prev, prevFound = syscall.Getenv("LANGUAGE")
	if syscall.Setenv("LANGUAGE", "en") == nil {
		set = true
	}
}

// cOrPOSIX: "C.UTF-8", "POSIX.utf8" and the like — the plain "C" and
// "POSIX" Fyne already understands.
func cOrPOSIX(loc string) bool {
	for _, p := range []string{"C.", "POSIX."} {
		if len(loc) > len(p) && loc[:len(p)] == p {
			return true
		}
	}
	return false
}

// Restore undoes what init changed. Call it once Fyne's packages are
// initialised (from main or a later init).
func Restore() {
	if !set {
		return
	}
	set = false
	if prevFound {
		syscall.Setenv("LANGUAGE", prev)
	} else {
		syscall.Unsetenv("LANGUAGE")
	}
}
