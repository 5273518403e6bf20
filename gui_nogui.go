//go:build nogui

package main

// A build with -tags nogui has no window: it links no GUI library, builds
// with CGO_ENABLED=0 for any OS, and always runs headless. It is the
// supervisor for machines without a display (servers, CI, containers),
// where the windowed build would not even load (it needs libGL and X11),
// and it is a third of the windowed build's memory (make bench-scale).
const hasWindow = false

func (o *outrigger) gui(*relay, bool) int { return o.headless() }
