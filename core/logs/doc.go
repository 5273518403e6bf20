// Package logs carries the output of sidecar processes and of the app itself.
//
// One sidecar's output flows like this:
//
//	child stdout ─► Capture ─┐                 ┌─► Ring        (the UI reads it)
//	child stderr ─► Capture ─┴─► SidecarLog ───┼─► <name>.log  (rotated, no goroutine)
//	                  (one goroutine each)     └─► slog        (attrs sidecar, stream)
//
// Capture turns a byte stream into Lines: it splits on '\n', strips a '\r'
// before it, cuts lines longer than MaxLine into several, and escapes invalid
// UTF-8 as \xNN instead of dropping it. It calls its Sink inline, so sinks
// must be quick; every sink here is (a ring append, an append to a memory
// buffer, a pre-filtered slog call) and none of them ever waits for a reader.
//
// Memory is bounded by the Ring's capacity and a few fixed buffers, never by
// how much a sidecar writes.
//
// NewLogger builds the app's own logger (tint on the console, JSON lines in a
// rotated file).
package logs
