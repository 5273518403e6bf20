#!/usr/bin/env bash
# Installs what the Windows package and its tests need on Debian, only when
# something is missing: mingw-w64 (the cgo cross-compiler and windres),
# NSIS (makensis), zip, and Wine to run the result.
set -euo pipefail
pkgs=(gcc-mingw-w64-x86-64 nsis zip wine wine64)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
	echo "missing packages: ${missing[*]} (install them with your package manager)" >&2
	exit 1
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing: ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
