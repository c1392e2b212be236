#!/usr/bin/env bash
# Packages one built migrade binary the way a GitHub release carries it, so the
# release workflow, scripts/dist.sh and the Action's download (tests/action.rs)
# share one layout:
#
#   OUTDIR/migrade-v<VERSION>-<TARGET>.tar.gz   (.zip for a Windows target)
#     migrade-v<VERSION>-<TARGET>/migrade        (migrade.exe on Windows)
#     migrade-v<VERSION>-<TARGET>/README.md
#   OUTDIR/migrade-v<VERSION>-<TARGET>.tar.gz.sha256   "<sha256>  <archive name>"
#
# Usage: scripts/package.sh BINARY TARGET VERSION OUTDIR   (VERSION without the v)
# Prints the archive's path.
set -euo pipefail
if [ $# -ne 4 ]; then
  echo "usage: scripts/package.sh BINARY TARGET VERSION OUTDIR" >&2
  exit 2
fi
binary=$1 target=$2 version=${3#v} out=$4
root="$(cd "$(dirname "$0")/.." && pwd)"
[ -f "$binary" ] || { echo "package: no binary at $binary (build it first)" >&2; exit 2; }
name="migrade-v$version-$target"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
mkdir "$stage/$name"
case "$target" in
  *windows*) exe=migrade.exe ;;
  *) exe=migrade ;;
esac
cp "$binary" "$stage/$name/$exe"
chmod 755 "$stage/$name/$exe"
cp "$root/README.md" "$stage/$name/"
case "$target" in
  *windows*)
    archive="$name.zip"
    (cd "$stage" && if command -v 7z >/dev/null 2>&1; then 7z a "$out/$archive" "$name" >/dev/null; else zip -qr "$out/$archive" "$name"; fi) ;;
  *)
    archive="$name.tar.gz"
    # Owner and times fixed, so the same binary gives the same archive.
    tar -C "$stage" --owner=0 --group=0 --numeric-owner --mtime='2000-01-01 00:00:00Z' -czf "$out/$archive" "$name" 2>/dev/null \
      || tar -C "$stage" -czf "$out/$archive" "$name" ;;
esac
cd "$out"
if command -v sha256sum >/dev/null 2>&1; then sha256sum "$archive" > "$archive.sha256"; else shasum -a 256 "$archive" > "$archive.sha256"; fi
echo "$out/$archive"
