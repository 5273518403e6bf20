# Outrigger — build, run, test, bench.
# `make run` and `make test` install what a fresh Debian machine lacks.

GO      ?= go
GOOS    := $(shell $(GO) env GOOS)
GOARCH  := $(shell $(GO) env GOARCH)
ARCH_linux_amd64   := x86_64-unknown-linux-gnu
ARCH_linux_arm64   := aarch64-unknown-linux-gnu
ARCH_darwin_amd64  := x86_64-apple-darwin
ARCH_darwin_arm64  := aarch64-apple-darwin
ARCH_windows_amd64 := x86_64-pc-windows-msvc
TRIPLE  := $(ARCH_$(GOOS)_$(GOARCH))
EXE     := $(if $(filter windows,$(GOOS)),.exe,)
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

SIDECARS := xgen-workflow xgen-embedding

.PHONY: all build sidecars app run headless test test-core test-ui test-e2e bench deps clean vet

all: build

## deps: install the system packages a fresh Debian machine lacks (GUI build headers, Xvfb, D-Bus)
deps:
	@./scripts/deps.sh

# A development build also looks in ./binaries of the working directory
# (after its own folders); packages never do (issue 17.9).
DEV_LDFLAGS := -X outrigger/core/supervisor.devBuild=yes

## build: bin/outrigger with the stand-ins next to it in bin/binaries (as the packages lay them out), so it runs from any folder
build: sidecars app
	@mkdir -p bin/binaries
	@for s in $(SIDECARS); do cp -f binaries/$$s-$(TRIPLE)$(EXE) bin/binaries/ || exit 1; done

sidecars:
	@mkdir -p binaries
	@for s in $(SIDECARS); do \
		CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w -X main.version=$(VERSION)' -o binaries/$$s-$(TRIPLE)$(EXE) ./cmd/$$s || exit 1; \
	done

app: deps
	@mkdir -p bin
	$(GO) build -trimpath -ldflags '$(LDFLAGS) $(DEV_LDFLAGS)' -o bin/outrigger$(EXE) .

## run: build everything and open the window (both stand-ins start)
run: build
	./bin/outrigger$(EXE)

headless: build
	./bin/outrigger$(EXE) --headless

## headless-app: bin/outrigger-headless, the supervisor without the window: no cgo, no GUI libraries (runs on servers and in containers without libGL/X11), a third of the windowed build's memory
.PHONY: headless-app
headless-app: sidecars
	@mkdir -p bin/binaries
	@for s in $(SIDECARS); do cp -f binaries/$$s-$(TRIPLE)$(EXE) bin/binaries/ || exit 1; done
	CGO_ENABLED=0 $(GO) build -tags nogui -trimpath -ldflags '$(LDFLAGS) $(DEV_LDFLAGS)' -o bin/outrigger-headless$(EXE) .

vet:
	CGO_ENABLED=0 $(GO) vet ./core/...
	GOOS=windows $(GO) vet ./core/...
	GOOS=darwin $(GO) vet ./core/...

## test: everything CI runs: vet for three OSes, core without cgo, the rest with -race, the GUI end-to-end under Xvfb
test: deps sidecars
	./scripts/test.sh

## bench: benchmarks, printed as tables
bench: deps sidecars
	./scripts/bench.sh

## bench-scale: the windowed build run headless, then the headless build, with 2, 50 and 200 fixture sidecars (SIZES=2,50,200,1000 for more): idle and logging CPU, RSS, start/kill/stop times beside their targets; PEER=supervisord puts supervisord, on the same fixtures, beside the headless build
SIZES ?= 2,50,200
PEER  ?=
.PHONY: bench-scale
bench-scale: build headless-app
	$(GO) run ./internal/tools/benchscale -app bin/outrigger$(EXE) -sizes $(SIZES) -label "bin/outrigger --headless (the windowed build)"
	$(GO) run ./internal/tools/benchscale -app bin/outrigger-headless$(EXE) -sizes $(SIZES) $(if $(PEER),-peer $(PEER)) -label "bin/outrigger-headless (make headless-app: no window, no cgo)"

## fyne-cli: the fyne CLI (fyne.io/tools, pinned) in bin/tools, outside go.mod
FYNE_VERSION := v1.7.4
FYNE         := $(CURDIR)/bin/tools/fyne

.PHONY: fyne-cli package test-package

fyne-cli:
	@$(FYNE) version 2>/dev/null | grep -q 'cli version: $(FYNE_VERSION)$$' || \
		GOBIN=$(CURDIR)/bin/tools $(GO) install fyne.io/tools/cmd/fyne@$(FYNE_VERSION)

## package: Linux tarball with the sidecars: dist/outrigger-<version>-linux-<arch>.tar.xz (packaging/README.md)
package: deps sidecars fyne-cli
	@GO='$(GO)' FYNE='$(FYNE)' LDFLAGS='$(LDFLAGS)' SIDECARS='$(SIDECARS)' TRIPLE='$(TRIPLE)' ./packaging/linux.sh

## test-package: build the package, install it into a temporary prefix, run it headless, uninstall it
test-package: package
	@GO='$(GO)' ./packaging/test_package.sh

clean:
	rm -rf bin dist
	find binaries -type f ! -name README.md -delete

## soak: random kill -9 / SIGSTOP / stop / restart of fixture sidecars of every shape under a real supervisor, watchdog and guardian for SOAK_S seconds (default 600); prints a table. `make test` runs it for 60 s.
.PHONY: soak
SOAK_S ?= 600
soak:
	SOAK_S=$(SOAK_S) $(GO) test -count=1 -v -timeout $$(( $(SOAK_S) + 600 ))s -run TestSoak ./internal/soak/

## package-windows: Windows installer and zip, cross-built here (mingw-w64, NSIS): dist/outrigger-<version>-windows-amd64-setup.exe and .zip (packaging/README.md)
.PHONY: package-windows test-windows
package-windows:
	@./scripts/deps-windows.sh
	@GO='$(GO)' LDFLAGS='$(LDFLAGS)' SIDECARS='$(SIDECARS)' ./packaging/windows.sh

## test-windows: the Windows-tagged core tests, the app and the installer under Wine (a throwaway prefix)
test-windows: package-windows
	@GO='$(GO)' SIDECARS='$(SIDECARS)' ./scripts/test-windows.sh
