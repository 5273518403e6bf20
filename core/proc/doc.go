// Package proc holds the operating-system side of supervising a process
// tree: putting a child in its own process group (Unix) or job object
// (Windows), signalling the whole tree, recognising a process by its pid
// and create time, remembering what we started in a state file, and the
// guardian that ends every sidecar when the app itself dies.
//
// Everything OS-specific lives behind the small API of this package, in
// _unix.go and _windows.go files, so the supervisor reads the same on every
// platform.
package proc
