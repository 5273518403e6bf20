//go:build !unix

package proc

// On Windows the job object holds the whole tree (the Windows files own
// it); these keep the supervisor's calls the same on every platform.

// TreeToken is "" where runs carry no token.
func TreeToken(*Tree) string { return "" }

// Lingering is false: killing the job ends every member with the leader.
func Lingering(*Tree) bool { return false }

// TreeCgroup is "" where runs have no cgroup.
func TreeCgroup(*Tree) string { return "" }

// AdoptTree is the tree of a run an earlier app instance left running.
func AdoptTree(r Record) *Tree { return &Tree{PID: r.PID, PGID: r.PGID} }
