// Package filelock takes exclusive, non-blocking locks on open files: the
// single-instance lock of the app and the one-engine lock of a workflow
// database. The operating system drops a lock when the descriptor (handle)
// that holds it closes, as it does when the process dies, kill -9
// included; Go opens files close-on-exec, so children never inherit one.
package filelock
