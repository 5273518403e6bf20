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
	# The app's CPU over 30 s idle with the window open (about 95 s in all).
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
