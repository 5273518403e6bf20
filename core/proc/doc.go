// Package proc holds the operating-system side of supervising a process
// tree: putting a child in its own process group (Unix) or job object
// (Windows), signalling the whole tree, recognising a process by its pid
// and create time, remembering what we started in a state file, and the
// guardian that ends every sidecar when the app itself dies.
//
// Everything OS-specific lives behind the small API of this package, in
// _unix.go and _windows.go files, so the supervisor reads the same on every
// platform.
//
// # Containment on Linux: daemons that leave the group
//
// A process group does not hold a sidecar that daemonizes (setsid + double
// fork: a new session and group, its parent gone). What holds it here:
//
//   - A cgroup v2 per run, where the system lets us make one
//     (cgroup_linux.go). Start makes outrigger-<app pid>-<app start
//     ticks>-<n>-<sidecar> under the app's own cgroup and the child is
//     born in it (clone3 CLONE_INTO_CGROUP: no moment where the leader
//     could fork outside). Nothing a sidecar does without write access to
//     a cgroup.procs above it takes a process out: not setsid, a double
//     fork or a cleared environment. Then membership is cgroup.procs
//     (Tree.Members), Terminate signals each member, Kill writes
//     cgroup.kill, a run ends only when the cgroup is empty (Lingering),
//     and Close removes it. The guardian is told each run's cgroup and
//     ends and removes it when we die; the state file records it, and the
//     next launch's sweep ends the cgroups of an app instance that is no
//     longer running (recorded or found beside its own), never a live
//     instance's. An adopted run keeps its cgroup, marked as the adopting
//     instance's (an xattr: cgroup v2 has no rename).
//     No controller is enabled: a cgroup with processes (the app's) may
//     not hand domain controllers down, and a desktop's systemd owns that
//     tree. So CPU and memory still come from /proc.
//     It needs the cgroup2 hierarchy mounted (/sys/fs/cgroup, or
//     /sys/fs/cgroup/unified on a hybrid host), permission to make a child
//     of our cgroup and start a process in it (root; or a user whose app
//     runs in a scope of its own systemd user manager, as desktop launches
//     do), and cgroup.kill (Linux 5.14). The first Start checks all of it
//     once (a child cgroup is made, and a fork into it whose exec fails on
//     purpose); if anything is missing it logs why at Info and every run
//     is held as below, unchanged. OUTRIGGER_NO_CGROUP=1 (NoCgroupEnv)
//     forces that fallback.
//   - A token. Every run gets a random OUTRIGGER_TREE value in its
//     environment (Prepare). Children inherit it, daemons included, so one
//     read of /proc finds the whole run wherever it went: the leader, its
//     group, every process with the token, every process seen in the tree
//     before (pid + start ticks), and their descendants (Tree.Members of a
//     run without a cgroup). Terminate and Kill signal all of them (each
//     through a pidfd after checking its start time, so a reused pid is
//     never hit), and a run ends — and a restart begins — only when none
//     is left (Lingering).
//   - A subreaper. The guardian's containment goroutine makes the app
//     PR_SET_CHILD_SUBREAPER, so orphaned descendants are reparented to us
//     rather than to init while we live, and reaps them without racing
//     os/exec (containment_linux.go says exactly which pids it waits on).
//     For runs without a cgroup it also tells the guardian every member
//     outside the group (pid + start ticks), for a daemon that clears its
//     environment, scanning /proc every second, backing off to a minute;
//     runs with a cgroup need no scan, only a pass on SIGCHLD to reap.
//   - The guardian and the next launch. The guardian is told each run's
//     token (and cgroup); when we die it ends the group, the members it
//     was told of, every process carrying the token, and the cgroup. The
//     state file records the token and cgroup too, so the orphan sweep at
//     the next launch ends an escaped daemon.
//
// What the fallback misses (no cgroup): a daemon that clears its
// environment and escapes before a scan sees it, as `(env -i setsid
// server &)` does. The token and subreaper work for an unprivileged
// process on every Linux since 3.4 (the pidfd that makes signalling a
// member race-free needs 5.3; before, the start time is checked just
// before the signal). Outside Linux a tree is its group (or job object),
// as before.
//
// # Identity
//
// A pid names a process only together with its create time. When the
// create time cannot be read, the process's identity is Unknown and
// nothing — the sweep, the port preflight, the guardian — acts on it.
package proc
