package proc

import (
	"os"
	"strconv"
)

// groupIsOurs reports whether the group pgid, whose leader (our run's,
// created at leaderCreateMs) is gone, is still our run's: every live member
// was started no earlier than that leader, and, when the run had a token,
// a member carries it.
//
// Age alone proves nothing once the leader is gone: its pid may have been
// reused by a later process that led a group of its own (a shell job) and
// died, leaving members that are all younger than our leader. The token
// tells the run's processes from such a stranger's; the age check stays
// for records without one.
func groupIsOurs(pgid int, leaderCreateMs int64, token string) bool {
	members := GroupMembers(pgid)
	if len(members) == 0 {
		return false
	}
	if leaderCreateMs == 0 {
		return false // without the leader's identity nothing proves the group ours
	}
	carried := token == ""
	env := &procs{token: map[int]string{}}
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
		if !carried && env.tokenOf(pid) == token {
			carried = true
		}
	}
	return carried
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

// CgroupStats reads the live (non-zombie) processes of the run cgroup at
// dir (TreeCgroup): its cgroup.procs, then each one's stat. It is how a
// sweep measures a run without reading every process on the machine.
func CgroupStats(dir string) ([]Stat, error) {
	pids, err := (&cgroup{dir: dir}).pids()
	if err != nil {
		return nil, err
	}
	out := make([]Stat, 0, len(pids))
	for _, pid := range pids {
		st, err := ReadStat(pid)
		if err != nil || st.State == 'Z' {
			continue // exited since the list was read
		}
		out = append(out, st)
	}
	return out, nil
}
