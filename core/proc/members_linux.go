package proc

import (
	"os"
	"strconv"
)

// groupIsOurs reports whether every live member of the group was started no
// earlier than our recorded leader: a group id cannot be reused while the
// group exists, so members that old can only be the leader's descendants.
func groupIsOurs(pgid int, leaderCreateMs int64) bool {
	members := GroupMembers(pgid)
	if len(members) == 0 {
		return false
	}
	if leaderCreateMs == 0 {
		return false // without the leader's identity nothing proves the group ours
	}
	for _, pid := range members {
		ct, err := CreateTime(pid)
		if err != nil {
			if Check(pid, 0) == Gone {
				continue // exited meanwhile
			}
			return false // a member we cannot identify: hands off
		}
		if ct+1000 < leaderCreateMs {
			return false
		}
	}
	return true
}

// GroupMembers lists the pids whose process group is pgid, read from /proc.
func GroupMembers(pgid int) []int {
	var out []int
	for _, st := range ScanGroups()[pgid] {
		out = append(out, st.PID)
	}
	return out
}

// ScanGroups reads every process once from /proc and returns the live
// (non-zombie) ones by process group: one pass serves a whole sweep.
func ScanGroups() map[int][]Stat {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	out := map[int][]Stat{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := ReadStat(pid)
		if err != nil || st.State == 'Z' {
			continue
		}
		out[st.PGID] = append(out[st.PGID], st)
	}
	return out
}
