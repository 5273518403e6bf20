#!/usr/bin/env bash
# The whole test suite, as CI runs it. Called by `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:$(go env GOROOT)/bin:$(go env GOPATH)/bin"

step() { printf '\n== %s\n' "$*"; }

step "gofmt"
bad=$(gofmt -l $(git ls-files '*.go') 2>/dev/null || true)
if [ -n "$bad" ]; then echo "gofmt would change:"; echo "$bad"; exit 1; fi

step "core: vet for linux (no cgo), windows and darwin"
CGO_ENABLED=0 go vet ./core/...
GOOS=windows go vet ./core/...
GOOS=darwin go vet ./core/...

step "core: tests without cgo"
CGO_ENABLED=0 go test -count=1 ./core/...

step "everything with -race (GUI tests use Fyne's test driver)"
go vet ./...
go test -race -count=1 -timeout 20m ./...

step "soak: 60 s of random kill -9, SIGSTOP, stop and restart under a real supervisor, with -race (make soak runs 600 s)"
SOAK_S=60 go test -race -count=1 -v -timeout 15m -run TestSoak ./internal/soak/

if [ -d e2e ]; then
	step "end to end: the real app under Xvfb and a D-Bus session"
	# The app under test is built with -race (assertNoRace reads its log).
	OUTRIGGER_E2E=1 OUTRIGGER_E2E_RACE=1 xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- \
		go test -count=1 -timeout 10m -v ./e2e/
fi

if grep -q '^test-package:' Makefile; then
	step "package: build, install into a temporary prefix, run, uninstall"
	make --no-print-directory test-package
fi

if grep -q '^test-windows:' Makefile; then
	step "windows: the package cross-built, the core's Windows tests, installer and app under Wine"
	make --no-print-directory test-windows
fi
