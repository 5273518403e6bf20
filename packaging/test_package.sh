#!/usr/bin/env bash
# Tests the Linux tarball end to end, as a user would use it. Called by
# `make test-package` after `make package`; give another tarball as $1.
#
#  1. unpack it; `make install DESTDIR=$tmp/root PREFIX=/usr/local` with
#     its own Makefile; every file of the tarball is installed, nothing else
#  2. run the installed binary with --headless, OUTRIGGER_HOME=$tmp/home,
#     from an empty folder and without OUTRIGGER_BINARIES, so the sidecars
#     can only come from the installed lib/outrigger/binaries; wait (with a
#     deadline) until the app logs both stand-ins ready, from that folder,
#     and check each answers /health
#  3. a second launch exits 0 and the first keeps running; after kill -9 of
#     the first, a new launch replaces the stale socket and gets ready
#  4. SIGTERM: the app exits 0 and no process of the installation remains
#  5. `make uninstall`: no installed file remains, nor lib/outrigger
#  6. `make user-install` / `user-uninstall` into a temporary HOME: the same
#     files under ~/.local, the desktop entry pointing at them, all removed
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
GO=${GO:-go}
SIDECARS=${SIDECARS:-xgen-workflow xgen-embedding}
READY_TIMEOUT=${READY_TIMEOUT:-90}  # seconds for both sidecars to be ready
STOP_TIMEOUT=${STOP_TIMEOUT:-45}    # seconds for the app to stop after SIGTERM

version=$(sed -n 's/^[[:space:]]*Version[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' FyneApp.toml | head -n1)
tarball=${1:-dist/outrigger-$version-linux-$($GO env GOARCH).tar.xz}
[ -f "$tarball" ] || { echo "no $tarball (run: make package)" >&2; exit 1; }
tarball=$(cd "$(dirname "$tarball")" && pwd)/$(basename "$tarball")

tmp=$(mktemp -d "${TMPDIR:-/tmp}/outrigger-pkgtest.XXXXXX")
app_pid=""
started=$SECONDS

step() { printf '\n-- %s\n' "$*"; }
fail() {
	echo "FAIL: $*" >&2
	if [ -f "$tmp/console.log" ]; then
		echo "---- the app's console (last 60 lines)" >&2
		tail -n 60 "$tmp/console.log" >&2
	fi
	exit 1
}

# leftovers lists the processes whose executable is inside $tmp: the app,
# its guardian, the sidecars.
leftovers() {
	local p exe
	for p in /proc/[0-9]*; do
		exe=$(readlink "$p/exe" 2>/dev/null) || continue
		case "$exe" in "$tmp"/*) echo "${p#/proc/} $exe" ;; esac
	done
}

cleanup() {
	local rc=$?
	if [ -n "$app_pid" ] && kill -0 "$app_pid" 2>/dev/null; then
		kill -TERM "$app_pid" 2>/dev/null || true
		for _ in $(seq 100); do kill -0 "$app_pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$app_pid" 2>/dev/null || true
	fi
	# Only processes of our own temporary installation, by pid.
	leftovers | while read -r pid _; do kill -KILL "$pid" 2>/dev/null || true; done
	rm -rf "$tmp"
	if [ $rc -eq 0 ]; then
		echo "package test passed in $((SECONDS - started))s"
	fi
}
trap cleanup EXIT

files_under() { (cd "$1" && find . \( -type f -o -type l \) | sed 's#^\./##' | sort); }

step "unpack $(basename "$tarball") ($(du -h "$tarball" | cut -f1))"
mkdir -p "$tmp/pkg"
tar -C "$tmp/pkg" -xJf "$tarball"
mk=$(cd "$tmp/pkg" && find . -maxdepth 2 -name Makefile -type f | head -n1)
[ -n "$mk" ] || fail "no Makefile in the tarball"
top=$tmp/pkg/$(dirname "$mk")
exe_rel=$(cd "$top" && find usr -path '*/bin/outrigger' -type f | head -n1)
[ -n "$exe_rel" ] || fail "no bin/outrigger in the tarball"
usr=$(dirname "$(dirname "$exe_rel")") # usr/local or usr
triple=""
for s in $SIDECARS; do
	f=$(cd "$top" && ls "$usr/lib/outrigger/binaries/$s"-* 2>/dev/null | head -n1) || true
	[ -n "$f" ] || fail "the tarball has no $usr/lib/outrigger/binaries/$s-<triple>"
	[ -x "$top/$f" ] || fail "$f is not executable"
	triple=${f##*/"$s"-}
done
echo "sidecars for $triple; files:"
(cd "$top" && find . -type f | sort | sed 's#^\./#  #')

step "make install DESTDIR=\$tmp/root PREFIX=/usr/local"
dest=$tmp/root
prefix=/usr/local
make -s -C "$top" install DESTDIR="$dest" PREFIX="$prefix" >/dev/null
want=$(files_under "$top/$usr" | sed "s#^#${prefix#/}/#" | sort)
got=$(files_under "$dest")
if [ "$got" != "$want" ]; then
	diff <(echo "$want") <(echo "$got") >&2 || true
	fail "installed files differ from the tarball's (< tarball, > installed)"
fi
(cd "$dest" && find . -type f -printf '  %m %8s %p\n' | sort -k3)
for f in bin/outrigger lib/outrigger/binaries/xgen-workflow-"$triple" lib/outrigger/binaries/xgen-embedding-"$triple"; do
	[ -x "$dest$prefix/$f" ] || fail "$prefix/$f is not executable"
done
app=$dest$prefix/bin/outrigger
"$app" --version 2>/dev/null | grep -q '^outrigger ' || fail "$app --version does not say outrigger"

home=$tmp/home
mkdir -p "$home" "$tmp/cwd"
jsonlog=$home/logs/outrigger.log

# launch starts the installed app --headless in the background, its console
# in $1: from an empty folder (no ./binaries) and without
# OUTRIGGER_BINARIES, so the sidecars can only come from the installation.
launch() {
	(
		cd "$tmp/cwd"
		exec env -u OUTRIGGER_BINARIES OUTRIGGER_HOME="$home" NO_COLOR=1 "$app" --headless
	) >"$1" 2>&1 &
	app_pid=$!
}

# ready_line prints the app's "ready" record for sidecar $1 written after
# line $3 of the JSON file log (core/logs), else from the console $2 (tint
# or slog text format; lines relayed from a sidecar's own output carry
# stream= and are skipped).
ready_line() {
	local l
	if [ -f "$jsonlog" ]; then
		l=$(tail -n +"$(($3 + 1))" "$jsonlog" | grep -F '"msg":"ready"' | grep -F "\"sidecar\":\"$1\"" | tail -n1) || true
		[ -n "$l" ] && { echo "$l"; return 0; }
	fi
	l=$(grep -E "(INF ready|msg=ready)( |$)" "$2" | grep -E "sidecar=$1( |$)" | grep -v 'stream=' | tail -n1) || true
	[ -n "$l" ] && { echo "$l"; return 0; }
	return 1
}

loglines() { if [ -f "$jsonlog" ]; then wc -l <"$jsonlog"; else echo 0; fi; }

# wait_ready waits until the app logs every sidecar ready (console $1, JSON
# log lines after $2), then checks each answers /health at its URL.
wait_ready() {
	local console=$1 skip=$2 deadline=$((SECONDS + READY_TIMEOUT)) t0=$SECONDS pending=" $SIDECARS " s line url
	while [ -n "${pending// /}" ]; do
		kill -0 "$app_pid" 2>/dev/null || { wait "$app_pid" || true; fail "the app exited before its sidecars were ready"; }
		[ $SECONDS -lt $deadline ] || fail "not ready within ${READY_TIMEOUT}s:$pending"
		for s in $pending; do
			if line=$(ready_line "$s" "$console" "$skip"); then
				url=$(echo "$line" | grep -oE 'http://127\.0\.0\.1:[0-9]+' | head -n1) || true
				[ -n "$url" ] || fail "no URL in the ready record of $s: $line"
				health "$url" || fail "$s was logged ready but does not answer $url/health"
				echo "  ready after $((SECONDS - t0))s and answers $url/health: $s"
				pending=${pending// $s / }
			fi
		done
		sleep 0.2
	done
}

# health asks for /health with HTTP over bash's /dev/tcp (no curl needed).
health() {
	local hostport=${1#http://} status
	exec 3<>"/dev/tcp/${hostport%:*}/${hostport#*:}" || return 1
	printf 'GET /health HTTP/1.0\r\nHost: %s\r\n\r\n' "$hostport" >&3
	IFS= read -r -t 5 status <&3 || true
	exec 3<&- 3>&-
	case "$status" in "HTTP/1."?" 2"*) return 0 ;; esac
	echo "  $1/health: ${status:-no answer}" >&2
	return 1
}

# stop sends SIGTERM and checks the app exits 0 and nothing of the
# installation outlives it (the guardian may take a moment more).
stop() {
	local deadline=$((SECONDS + STOP_TIMEOUT)) t0=$SECONDS rc=0 left
	kill -TERM "$app_pid"
	while kill -0 "$app_pid" 2>/dev/null; do
		[ $SECONDS -lt $deadline ] || fail "the app did not exit within ${STOP_TIMEOUT}s of SIGTERM"
		sleep 0.1
	done
	wait "$app_pid" || rc=$?
	app_pid=""
	[ $rc -eq 0 ] || fail "the app exited with status $rc after SIGTERM"
	echo "  exited 0 after $((SECONDS - t0))s"
	for _ in $(seq 50); do
		[ -z "$(leftovers)" ] && break
		sleep 0.1
	done
	left=$(leftovers)
	[ -z "$left" ] || fail "processes of the installation remain after quitting:
$left"
	echo "  no process of the installation remains"
}

step "run the installed app --headless until both stand-ins are ready"
launch "$tmp/console.log"
first=$app_pid
wait_ready "$tmp/console.log" 0
# Where each sidecar was started from: the installed lib/outrigger/binaries.
for s in $SIDECARS; do
	want_bin=$dest$prefix/lib/outrigger/binaries/$s-$triple
	if [ -f "$jsonlog" ] && grep -F '"msg":"started"' "$jsonlog" | grep -F "\"sidecar\":\"$s\"" | grep -qF "\"binary\":\"$want_bin\""; then
		echo "  started from the installation: $s"
	elif grep -E "sidecar=$s( |$)" "$tmp/console.log" | grep -qF "binary=$want_bin"; then
		echo "  started from the installation: $s"
	else
		fail "no log line says $s was started from $want_bin"
	fi
done

step "a second launch defers to the first and exits 0"
launch "$tmp/console2.log"
second=$app_pid
deadline=$((SECONDS + 20))
while kill -0 "$second" 2>/dev/null; do
	[ $SECONDS -lt $deadline ] || { app_pid=$first; kill -KILL "$second"; fail "the second launch is still running after 20s"; }
	sleep 0.1
done
rc=0
wait "$second" || rc=$?
app_pid=$first
[ $rc -eq 0 ] || { cat "$tmp/console2.log" >&2; fail "the second launch exited with status $rc"; }
kill -0 "$first" 2>/dev/null || fail "the first instance died when the second launched"
grep -E "sidecar=" "$tmp/console2.log" | grep -qE "(INF|msg=)started" && fail "the second launch started sidecars"
echo "  exited 0: $(grep -m1 -iE 'running' "$tmp/console2.log" | cut -c1-100)"

step "kill -9 the app: the next launch replaces its stale socket and starts normally"
# (bash reports a job killed by a signal on its own stderr when it reaps it:
# quiet it for this expected death.)
exec 4>&2 2>/dev/null
kill -KILL "$first"
wait "$first" || true
exec 2>&4 4>&-
app_pid=""
[ -S "$home/run/outrigger.sock" ] && echo "  the killed instance left its socket behind"
for _ in $(seq 100); do
	[ -z "$(leftovers)" ] && break
	sleep 0.1
done
[ -z "$(leftovers)" ] || fail "sidecars outlived the killed app by 10s: $(leftovers)"
echo "  its guardian ended the sidecars"
skip=$(loglines)
launch "$tmp/console3.log"
wait_ready "$tmp/console3.log" "$skip"

step "SIGTERM: the app stops everything and exits 0"
stop

step "make uninstall"
make -s -C "$top" uninstall DESTDIR="$dest" PREFIX="$prefix" >/dev/null
left=$(files_under "$dest")
[ -z "$left" ] || fail "make uninstall left files behind:
$left"
[ ! -e "$dest$prefix/lib/outrigger" ] || fail "make uninstall left $prefix/lib/outrigger"
echo "  every installed file is gone"

step "make user-install / user-uninstall (HOME=\$tmp/user)"
uhome=$tmp/user
mkdir -p "$uhome"
HOME=$uhome make -s -C "$top" user-install >/dev/null
got=$(files_under "$uhome")
want=$(printf '%s\n' .local/bin/outrigger .local/share/applications/io.outrigger.app.desktop \
	.local/share/icons/io.outrigger.app.png \
	$(for s in $SIDECARS; do echo ".local/lib/outrigger/binaries/$s-$triple"; done) | sort)
if [ "$got" != "$want" ]; then
	diff <(echo "$want") <(echo "$got") >&2 || true
	fail "user-install installed other files (< expected, > installed)"
fi
grep -qx "Exec=$uhome/.local/bin/outrigger" "$uhome/.local/share/applications/io.outrigger.app.desktop" ||
	fail "the user desktop entry does not run $uhome/.local/bin/outrigger"
echo "$got" | sed 's#^#  ~/#'
mkdir -p "$uhome/.config/autostart" && : >"$uhome/.config/autostart/io.outrigger.app.desktop" # as "Start at login" writes it
HOME=$uhome XDG_CONFIG_HOME=$uhome/.config make -s -C "$top" user-uninstall >/dev/null
left=$(files_under "$uhome")
[ -z "$left" ] || fail "make user-uninstall left files behind:
$left"
[ ! -e "$uhome/.local/lib/outrigger" ] || fail "make user-uninstall left ~/.local/lib/outrigger"
echo "  every installed file is gone"
