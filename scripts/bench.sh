#!/usr/bin/env bash
# Runs the benchmarks and prints one table. Called by `make bench`.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp)
trap 'rm -f "$out"' EXIT
run() { # package, benchtime
	go test -run '^$' -bench . -benchtime "$2" "$1" 2>&1 | tee -a "$out" | grep -E '^(Benchmark|ok|FAIL|---)' >&2 || true
}
run ./core/supervisor 20x
run ./core/watchdog 20x
run ./core/logs 1s
[ -d internal/workflow ] && run ./internal/workflow 1s
[ -d ui ] && run ./ui 1s
# Control API: GET /v1/sidecars (50 sidecars) over the socket, state change → SSE client, `outrigger status` wall time.
go test -run '^$' -bench SidecarsList50 -benchtime 3000x ./core/control 2>&1 | tee -a "$out" | grep -E '^(Benchmark|ok|FAIL|---)' >&2 || true
go test -run '^$' -bench EventDelivery -benchtime 30x ./core/control 2>&1 | tee -a "$out" | grep -E '^(Benchmark|ok|FAIL|---)' >&2 || true
go test -run '^$' -bench CLIStatus -benchtime 50x . 2>&1 | tee -a "$out" | grep -E '^(Benchmark|ok|FAIL|---)' >&2 || true
if [ -d e2e ] && command -v xvfb-run >/dev/null; then
	# The app's CPU over 30 s idle with the window open, then hidden in the tray (about 95 s each).
	OUTRIGGER_E2E=1 xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- \
		go test -run '^$' -bench IdleCPU -benchtime 1x ./e2e 2>&1 | tee -a "$out" | grep -E '^(Benchmark|ok|FAIL)' >&2 || true
fi
echo
echo "| benchmark | result |"
echo "| --- | --- |"
awk '/^Benchmark/ {
	name=$1; sub(/-[0-9]+$/, "", name); res="";
	for (i=3; i<NF; i+=2) res = res (res=="" ? "" : ", ") $i " " $(i+1);
	print "| " name " | " res " |" }' "$out"
echo
echo "Conditions: LogCapture/app-wiring is the app's own wiring (sidecar lines to the ring and the per-sidecar"
echo "file only; the app logger never formats them); console-info adds the console of headless-on-a-terminal"
echo "or --verbose; console-filtered-warn is for comparison only. KillToReady/first-restart-after-stable-run"
echo "has every kill after a stable run (immediate restart); second-crash-default-policy waits out the default"
echo "500 ms ±20 % backoff. ReadyDetection: one-line-server prints once after binding; uvicorn-style prints"
echo "two lines 2 ms before binding. Scale figures (50/200 sidecars): make bench-scale."
