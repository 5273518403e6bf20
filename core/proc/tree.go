package proc

// TreeEnv is set in the environment of every sidecar we start to a token
// unique to that run. Children inherit it, including a daemon that called
// setsid and double-forked and so left the process group and its parent:
// on Linux the token is how we, the guardian and the next launch's orphan
// sweep still recognise such a process as part of the run (see doc.go).
const TreeEnv = "OUTRIGGER_TREE"

// Member is one process of a sidecar's tree: its pid and its start time
// (clock ticks after boot), which together name it for its whole life.
type Member struct {
	PID    int
	Start  uint64
	PGID   int
	Zombie bool
}
