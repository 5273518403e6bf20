// Package logs carries the output of sidecar processes and of the app itself.
//
// One sidecar's output flows like this:
//
//	child stdout ─► Capture ─┐                 ┌─► Ring        (the UI reads it)
//	child stderr ─► Capture ─┴─► SidecarLog ───┼─► <name>.log  (rotated, no goroutine)
//	                  (one goroutine each)     └─► console     (only when asked: attrs sidecar, stream)
//
// Capture turns a byte stream into Lines: it splits on '\n', strips a '\r'
// before it, cuts lines longer than MaxLine into several, and escapes invalid
// UTF-8 as \xNN instead of dropping it. It calls its Sink inline, so sinks
// must be quick; every sink here is (a ring append, an append to a memory
// buffer, a pre-filtered slog call) and none of them ever waits for a reader.
//
// Memory is bounded by the Ring's limits (5 000 lines and 2 MiB; a line is
// cut to MaxRingLine there and kept whole in the file) and a few buffers
// that grow with use and shrink back when output is quiet (4 KiB per stream
// at rest, up to 128 KiB in a flood), never by how much a sidecar writes.
// SidecarLog.Capture formats each line once per sink and allocates, per
// line, only the ring's copy of its text.
//
// NewLogger builds the app's own logger (tint on the console, JSON lines in a
// rotated file).
package logs
