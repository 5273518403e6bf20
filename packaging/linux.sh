#!/usr/bin/env bash
# Builds the Linux tarball: `fyne package --os linux --release`, plus the
# host's sidecar binaries, plus Makefile targets that install and remove
# them. Called by `make package`; see packaging/README.md.
#
# Environment (the Makefile sets them; the defaults suit a manual run):
#   FYNE      the fyne CLI (fyne.io/tools/cmd/fyne)      bin/tools/fyne
#   GO        the go command                             go
#   LDFLAGS   linker flags for the app, space separated  -X main.version=<git describe>
#   SIDECARS  sidecar names                              xgen-workflow xgen-embedding
#   TRIPLE    target triple of the sidecar binaries      from go env
#   DIST      output folder                              dist
#
# Output: $DIST/outrigger-<version>-linux-<arch>.tar.xz (and .sha256), with
# <version> from FyneApp.toml and <arch> the Go architecture. The tarball
# unpacks to outrigger/{Makefile,usr/local/...}, as fyne's does:
#
#   usr/local/bin/outrigger
#   usr/local/lib/outrigger/binaries/<sidecar>-<triple>   (added here)
#   usr/local/share/applications/io.outrigger.app.desktop
#   usr/local/share/pixmaps/io.outrigger.app.png
#
# The app looks for sidecars in <its folder>/../lib/outrigger/binaries, so
# the same tarball works for `make install` (PREFIX/DESTDIR) and `make
# user-install` (~/.local).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

GO=${GO:-go}
FYNE=${FYNE:-$root/bin/tools/fyne}
SIDECARS=${SIDECARS:-xgen-workflow xgen-embedding}
DIST=${DIST:-dist}
goos=$($GO env GOOS)
goarch=$($GO env GOARCH)
if [ -z "${LDFLAGS+x}" ]; then
	LDFLAGS="-X main.version=$(git describe --tags --always --dirty 2>/dev/null || echo dev)"
fi
if [ -z "${TRIPLE:-}" ]; then
	case "$goos/$goarch" in
	linux/amd64) TRIPLE=x86_64-unknown-linux-gnu ;;
	linux/arm64) TRIPLE=aarch64-unknown-linux-gnu ;;
	*) TRIPLE=$goarch-unknown-$goos ;;
	esac
fi

die() { echo "packaging/linux.sh: $*" >&2; exit 1; }

[ "$goos" = linux ] || die "builds the Linux package only (GOOS=$goos); see packaging/README.md for darwin and windows"
[ -x "$FYNE" ] || die "no fyne CLI at $FYNE (run: make fyne-cli)"
command -v xz >/dev/null || die "xz is missing (apt-get install xz-utils)"

# The version in the file name is the app's (FyneApp.toml), not git's.
version=$(sed -n 's/^[[:space:]]*Version[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' FyneApp.toml | head -n1)
[ -n "$version" ] || die "no Version in FyneApp.toml"
appname=$(sed -n 's/^[[:space:]]*Name[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' FyneApp.toml | head -n1)
[ -n "$appname" ] || die "no Name in FyneApp.toml"

sidecar_files=()
for s in $SIDECARS; do
	f=binaries/$s-$TRIPLE
	[ -x "$f" ] || die "missing $f (run: make sidecars)"
	sidecar_files+=("$f")
done

work=$(mktemp -d "${TMPDIR:-/tmp}/outrigger-package.XXXXXX")
trap 'rm -rf "$work"' EXIT

# 1. fyne package, in a copy of the source tree: it writes a generated
#    metadata file, the executable, a staging folder and the tarball into
#    the folders it works in, and others may be building in this checkout
#    at the same time. The copy is what git sees (tracked and untracked
#    files, not ignored ones) or, outside git, everything but build output.
src=$work/src
mkdir -p "$src" "$work/out"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
		tar --null -T - -cf - | tar -C "$src" -xf -
else
	tar --exclude=./.git --exclude=./bin --exclude=./dist --exclude=./binaries \
		--exclude='*.test' -cf - . | tar -C "$src" -xf -
fi

# fyne takes extra linker flags from GOFLAGS, one "-ldflags=" word per flag
# word (it joins them with spaces); it adds -s -w and -trimpath itself.
goflags=$($GO env GOFLAGS)
for w in $LDFLAGS; do
	goflags="$goflags -ldflags=$w"
done
echo "fyne package --os linux --release (ldflags: $LDFLAGS)" >&2
(cd "$work/out" && GO=$GO GOFLAGS=$goflags "$FYNE" package --os linux --release --source-dir "$src")
fyne_tar=$work/out/$appname.tar.xz
[ -f "$fyne_tar" ] || die "fyne package did not produce $fyne_tar"

# 2. Unpack and find where fyne put things: outrigger/usr/local/... when
#    the build machine has /usr/local, else outrigger/usr/...
pkg=$work/pkg
mkdir -p "$pkg"
tar -C "$pkg" -xJf "$fyne_tar"
mk=$(cd "$pkg" && find . -maxdepth 2 -name Makefile -type f | head -n1)
[ -n "$mk" ] || die "no Makefile in fyne's tarball"
top=$pkg/$(dirname "$mk")
exe=$(cd "$top" && find usr -path '*/bin/outrigger' -type f | head -n1)
[ -n "$exe" ] || die "no bin/outrigger in fyne's tarball"
usr=$(dirname "$(dirname "$exe")") # usr/local or usr, relative to $top

# 3. The sidecars, where the app looks for them: <bin>/../lib/outrigger/binaries.
bindir=$usr/lib/outrigger/binaries
mkdir -p "$top/$bindir"
names=()
for f in "${sidecar_files[@]}"; do
	install -m 0755 "$f" "$top/$bindir/"
	names+=("$(basename "$f")")
done

# 4. Install and remove them with the tarball's own targets. Make runs a
#    target's prerequisites before its recipe; these add to fyne's rules.
cat >>"$top/Makefile" <<EOF

# Outrigger's sidecars (added by packaging/linux.sh). The app finds them in
# <its bin folder>/../lib/outrigger/binaries.
SIDECAR_SRC := $bindir
SIDECARS := ${names[*]}
SIDECAR_DIR = \$(DESTDIR)\$(PREFIX)/lib/outrigger
USER_SIDECAR_DIR = \$(DESTDIR)\$(HOME)/.local/lib/outrigger

install: install-sidecars
uninstall: uninstall-sidecars
user-install: user-install-sidecars
user-uninstall: user-uninstall-sidecars

install-sidecars:
	for f in \$(SIDECARS); do install -Dm00755 "\$(SIDECAR_SRC)/\$\$f" "\$(SIDECAR_DIR)/binaries/\$\$f" || exit 1; done
uninstall-sidecars:
	-for f in \$(SIDECARS); do rm -f "\$(SIDECAR_DIR)/binaries/\$\$f"; done
	-rmdir "\$(SIDECAR_DIR)/binaries" "\$(SIDECAR_DIR)" 2>/dev/null
user-install-sidecars:
	for f in \$(SIDECARS); do install -Dm00755 "\$(SIDECAR_SRC)/\$\$f" "\$(USER_SIDECAR_DIR)/binaries/\$\$f" || exit 1; done
user-uninstall-sidecars:
	-for f in \$(SIDECARS); do rm -f "\$(USER_SIDECAR_DIR)/binaries/\$\$f"; done
	-rmdir "\$(USER_SIDECAR_DIR)/binaries" "\$(USER_SIDECAR_DIR)" 2>/dev/null
	-rm -f "\$\${XDG_CONFIG_HOME:-\$(HOME)/.config}/autostart/io.outrigger.app.desktop"

.PHONY: default install uninstall user-install user-uninstall install-sidecars uninstall-sidecars user-install-sidecars user-uninstall-sidecars
EOF

# 5. Repack, owned by root, in name order.
mkdir -p "$DIST"
out=$DIST/outrigger-$version-linux-$goarch.tar.xz
entries=.
[ "$top" = "$pkg/." ] || entries=$(basename "$top")
tar -C "$pkg" --sort=name --owner=0 --group=0 --numeric-owner -cf - "$entries" | xz -T0 >"$out.tmp"
mv "$out.tmp" "$out"
(cd "$DIST" && sha256sum "$(basename "$out")" >"$(basename "$out").sha256")

echo "packaged $out ($(du -h "$out" | cut -f1)):" >&2
tar -tvJf "$out" | awk '$1 !~ /^d/ {printf "  %10s  %s\n", $3, $6}' >&2
echo "$out"
