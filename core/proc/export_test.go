package proc

import (
	"io"
	"time"
)

// Internals the external tests (package proc_test, which may import
// internal/testutil) drive directly.

type Watched = watched

func ReadWatch(in io.Reader) map[int]*Watched { return readWatch(in) }

func EndTrees(trees map[int]*Watched, grace time.Duration) { endTrees(trees, grace) }

func (w *Watched) Fields() (pid int, createTime int64, token string, members map[int]uint64) {
	return w.pid, w.createTime, w.token, w.members
}

func NewWatched(pid int, createTime int64, token string, members map[int]uint64) *Watched {
	return &watched{pid: pid, createTime: createTime, token: token, members: members}
}

func ParseRecords(data []byte) ([]Record, error) { return parseRecords(data) }

// WithCgroup gives a watched tree the cgroup the app told the guardian of.
func (w *Watched) WithCgroup(dir string) *Watched { w.cgroup = dir; return w }

func (w *Watched) Cgroup() string { return w.cgroup }
