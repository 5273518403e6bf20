#!/usr/bin/env bash
# Installs what the Windows package and its tests need on Debian, only when
# something is missing: mingw-w64 (the cgo cross-compiler and windres),
# NSIS (makensis), zip, and Wine to run the result.
exec "$(dirname "$0")/deps.sh" gcc-mingw-w64-x86-64 nsis zip wine wine64
