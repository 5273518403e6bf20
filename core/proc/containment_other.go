//go:build !linux

package proc

// containment is Linux-only: elsewhere a tree is its group or job object.
type containment struct{}

func startContainment(*Guardian) *containment { return nil }
func (*containment) watch(*Tree)              {}
func (*containment) forget(*Tree)             {}
func (*containment) close()                   {}
