#!/usr/bin/env bash
# Builds the Windows package on Linux: the GUI app cross-built with
# mingw-w64 (icon, version resource and manifest in a .syso), the stand-in
# sidecars, an NSIS installer and a plain zip. Called by `make
# package-windows`; see packaging/README.md.
#
# Environment (the Makefile sets them; the defaults suit a manual run):
#   GO        the go command                               go
#   LDFLAGS   linker flags for the app                     -X main.version=<git describe>
#   SIDECARS  sidecar names                                xgen-workflow xgen-embedding
#   DIST      output folder                                dist
#   STAGE     the installed layout, kept for the tests     bin/windows
#
# Output:
#   $DIST/outrigger-<version>-windows-amd64-setup.exe   per-user installer
#   $DIST/outrigger-<version>-windows-amd64.zip         Outrigger\outrigger.exe, Outrigger\binaries\*.exe
#   $STAGE/outrigger.exe, $STAGE/binaries/*.exe         what both contain (scripts/test-windows.sh runs it)
# <version> is FyneApp.toml's. The GUI build takes minutes cold; it is done
# once here and reused by the tests.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

GO=${GO:-go}
SIDECARS=${SIDECARS:-xgen-workflow xgen-embedding}
DIST=${DIST:-dist}
STAGE=${STAGE:-bin/windows}
TRIPLE=x86_64-pc-windows-msvc
CC_WIN=x86_64-w64-mingw32-gcc
WINDRES=x86_64-w64-mingw32-windres
if [ -z "${LDFLAGS+x}" ]; then
	LDFLAGS="-X main.version=$(git describe --tags --always --dirty 2>/dev/null || echo dev)"
fi

die() { echo "packaging/windows.sh: $*" >&2; exit 1; }
for t in "$CC_WIN" "$WINDRES" makensis zip; do
	command -v "$t" >/dev/null || die "$t is missing (run scripts/deps-windows.sh)"
done

toml() { sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*\"\\{0,1\\}\\([^\"]*\\)\"\\{0,1\\}.*/\\1/p" FyneApp.toml | head -n1; }
version=$(toml Version)
build=$(toml Build)
[ -n "$version" ] || die "no Version in FyneApp.toml"
case "$version" in
[0-9]*.[0-9]*.[0-9]*) ;;
*) die "Version $version in FyneApp.toml is not major.minor.patch" ;;
esac
vi="${version%%[-+]*}.${build:-0}"
vicomma=${vi//./,}

work=$(mktemp -d "${TMPDIR:-/tmp}/outrigger-winpkg.XXXXXX")
syso="$root/zz_outrigger_windows_amd64.syso"
trap 'rm -rf "$work"; rm -f "$syso"' EXIT

step() { printf -- '-- %s\n' "$*"; }

step "resources: icon, version $vi, manifest"
$GO run ./internal/tools/pngico assets/icon.png "$work/outrigger.ico"
cat >"$work/outrigger.manifest" <<MANIFEST
<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<assembly xmlns="urn:schemas-microsoft-com:asm.v1" manifestVersion="1.0">
  <assemblyIdentity type="win32" name="io.outrigger.app" version="$vi"/>
  <trustInfo xmlns="urn:schemas-microsoft-com:asm.v3">
    <security><requestedPrivileges>
      <requestedExecutionLevel level="asInvoker" uiAccess="false"/>
    </requestedPrivileges></security>
  </trustInfo>
  <compatibility xmlns="urn:schemas-microsoft-com:compatibility.v1">
    <application><supportedOS Id="{8e0f7a12-bfb3-4fe8-b9a5-48fd50a15a9a}"/></application>
  </compatibility>
</assembly>
MANIFEST
cat >"$work/outrigger.rc" <<RC
#include <winver.h>
1 ICON "outrigger.ico"
1 24 "outrigger.manifest"
1 VERSIONINFO
FILEVERSION $vicomma
PRODUCTVERSION $vicomma
FILEFLAGSMASK 0x3fL
FILEOS VOS_NT_WINDOWS32
FILETYPE VFT_APP
BEGIN
  BLOCK "StringFileInfo"
  BEGIN
    BLOCK "040904B0"
    BEGIN
      VALUE "CompanyName", "Outrigger authors"
      VALUE "FileDescription", "Outrigger"
      VALUE "FileVersion", "$vi"
      VALUE "InternalName", "outrigger"
      VALUE "OriginalFilename", "outrigger.exe"
      VALUE "ProductName", "Outrigger"
      VALUE "ProductVersion", "$version"
    END
  END
  BLOCK "VarFileInfo"
  BEGIN
    VALUE "Translation", 0x409, 1200
  END
END
RC
(cd "$work" && $WINDRES -O coff -o "$syso" outrigger.rc)

rm -rf "$STAGE"
mkdir -p "$STAGE/binaries" "$DIST"
STAGE=$(cd "$STAGE" && pwd) # makensis works from the script's folder
step "app: mingw-w64 GUI build (-H windowsgui)"
# The .syso in the main package's folder is linked in; the trap removes it.
# No development flag: a package never searches ./binaries.
CGO_ENABLED=1 CC=$CC_WIN GOOS=windows GOARCH=amd64 \
	$GO build -trimpath -ldflags "-H windowsgui -s -w $LDFLAGS" -o "$STAGE/outrigger.exe" .
rm -f "$syso"

step "sidecars: $SIDECARS"
for s in $SIDECARS; do
	CGO_ENABLED=0 GOOS=windows GOARCH=amd64 \
		$GO build -trimpath -ldflags "-s -w $LDFLAGS" -o "$STAGE/binaries/$s-$TRIPLE.exe" "./cmd/$s"
done

step "installer: makensis"
{
	echo '!macro InstallFiles'
	echo '	File "'"$STAGE"'/outrigger.exe"'
	echo '	SetOutPath "$INSTDIR\binaries"'
	for s in $SIDECARS; do echo '	File "'"$STAGE/binaries/$s-$TRIPLE.exe"'"'; done
	echo '	SetOutPath "$INSTDIR"'
	echo '!macroend'
	echo '!macro UninstallFiles'
	echo '	Delete "$INSTDIR\outrigger.exe"'
	for s in $SIDECARS; do echo '	Delete "$INSTDIR\binaries\'"$s-$TRIPLE"'.exe"'; done
	echo '!macroend'
	echo '!macro StopSidecars'
	for s in $SIDECARS; do
		echo "	nsExec::Exec 'taskkill /F /IM $s-$TRIPLE.exe'"
		echo '	Pop $0'
	done
	echo '!macroend'
} >"$work/files.nsh"
setup="$DIST/outrigger-$version-windows-amd64-setup.exe"
makensis -V2 -INPUTCHARSET UTF8 \
	-DVERSION="$version" -DVIVERSION="$vi" -DSTAGE="$STAGE" -DOUTFILE="$root/$setup" \
	-DICON="$work/outrigger.ico" -DFILES="$work/files.nsh" \
	packaging/windows/outrigger.nsi

step "zip"
zipfile="$DIST/outrigger-$version-windows-amd64.zip"
rm -f "$zipfile"
mkdir -p "$work/zip/Outrigger"
cp -r "$STAGE/outrigger.exe" "$STAGE/binaries" "$work/zip/Outrigger/"
(cd "$work/zip" && zip -qr -X "$root/$zipfile" Outrigger)

(cd "$DIST" && sha256sum "$(basename "$setup")" "$(basename "$zipfile")" >"outrigger-$version-windows-amd64.sha256")
ls -l "$setup" "$zipfile"
