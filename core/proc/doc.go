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
//   - A token. Every run gets a random OUTRIGGER_TREE value in its
//     environment (Prepare). Children inherit it, daemons included, so one
//     read of /proc finds the whole run wherever it went: the leader, its
//     group, every process with the token, every process seen in the tree
//     before (pid + start ticks), and their descendants (Tree.Members).
//     Terminate and Kill signal all of them (each through a pidfd after
//     checking its start time, so a reused pid is never hit), and a run
//     ends — and a restart begins — only when none is left (Lingering).
//   - A subreaper. The guardian's containment goroutine makes the app
//     PR_SET_CHILD_SUBREAPER, so orphaned descendants are reparented to us
//     rather than to init while we live, and reaps them without racing
//     os/exec (containment_linux.go says exactly which pids it waits on).
//     It also tells the guardian every member outside the group (pid +
//     start ticks) every second, for a daemon that clears its environment.
//   - The guardian and the next launch. The guardian is told each run's
//     token; when we die it ends the group, the members it was told of and
//     every process carrying the token. The state file records the token
//     too, so the orphan sweep at the next launch ends an escaped daemon.
//
// Why not a cgroup v2 per sidecar: it would hold even a process that
// clears its environment, and gives exact CPU and memory, but a desktop app
// gets one only through systemd (a transient scope over D-Bus) or a
// delegated subtree, which many machines (containers, non-systemd systems,
// cgroup v1 hosts such as the CI machine this was written on) do not
// offer; the token and subreaper work for an unprivileged process on every
// Linux since 3.4 (the pidfd that makes signalling a member race-free needs
// 5.3; before, the start time is checked just before the signal).
// What they miss: a daemon that clears its environment and escapes before
// the once-a-second scan sees it. Outside Linux a tree is its group (or job
// object), as before.
//
// # Identity
//
// A pid names a process only together with its create time. When the
// create time cannot be read, the process's identity is Unknown and
// nothing — the sweep, the port preflight, the guardian — acts on it.
package proc
