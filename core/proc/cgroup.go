package proc

// NoCgroupEnv set to 1 in the app's environment makes it hold every run by
// its process group and run token alone, as on a system without a usable
// cgroup v2 (see doc.go): the switch for testing that fallback on a machine
// that has cgroups. It is read once, when the first run starts.
const NoCgroupEnv = "OUTRIGGER_NO_CGROUP"

// cgroup is the cgroup v2 directory of one run (Linux), named
// outrigger-<app pid>-<app start ticks>-<n>-<sidecar>: the app instance
// that made it, so a later launch can tell a dead instance's leftovers
// from a live one's.
type cgroup struct {
	dir string // absolute path under the cgroup2 mount
}
