#!/usr/bin/env bash
# Builds, for this machine's platform, every artifact the release workflow
# (.github/workflows/release.yml) publishes, into dist/ (or OUTDIR):
#
#   - the statically linked binary (Linux: musl), packaged by scripts/package.sh
#     with its SHA-256 file, and SHA256SUMS;
#   - the Python wheel and the sdist (maturin), and the container image (Dockerfile,
#     with docker or buildah when one is installed), unless --binary-only.
#
# Installs what is missing first (Debian: clang, libclang-dev, musl-tools; the
# rustup target; maturin in the tools virtualenv). Nothing outside target/ and
# OUTDIR is written.
#
# Usage: scripts/dist.sh [--binary-only] [OUTDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
binary_only=false
if [ "${1:-}" = "--binary-only" ]; then binary_only=true; shift; fi
out="${1:-dist}"
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) target=x86_64-unknown-linux-musl ;;
  Linux-aarch64 | Linux-arm64) target=aarch64-unknown-linux-musl ;;
  Darwin-x86_64) target=x86_64-apple-darwin ;;
  Darwin-arm64) target=aarch64-apple-darwin ;;
  *) echo "dist: no release target for $(uname -s) $(uname -m)" >&2; exit 2 ;;
esac

if [ "$(uname -s)" = Linux ]; then
  source scripts/setup.sh --dist
fi
if command -v rustup >/dev/null 2>&1 && ! rustup target list --installed | grep -qx "$target"; then
  echo "dist: adding the Rust target $target"
  rustup target add "$target"
fi

echo "dist: building migrade $version for $target"
cargo build --release --locked --target "$target"
bin="target/$target/release/migrade"
# A static binary: ldd says "statically linked" or "not a dynamic executable",
# never "lib... => path".
if [ "$(uname -s)" = Linux ] && ldd "$bin" 2>&1 | grep -q '=>'; then
  echo "dist: $bin is dynamically linked:" >&2
  ldd "$bin" >&2
  exit 1
fi
mkdir -p "$out"
scripts/package.sh "$bin" "$target" "$version" "$out"
# The container image's input (Dockerfile): dist/docker/<docker arch>/migrade.
if [ "$(uname -s)" = Linux ]; then
  case "$target" in x86_64-*) arch=amd64 ;; *) arch=arm64 ;; esac
  mkdir -p "$out/docker/$arch"
  cp "$bin" "$out/docker/$arch/migrade"
fi

if [ "$binary_only" = false ]; then
  source scripts/python-tools.sh
  maturin build --release --locked --out "$out"
  maturin sdist --out "$out"
fi
# The container image, when a builder is installed.
if [ "$binary_only" = false ] && [ "$(uname -s)" = Linux ]; then
  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    docker build --build-arg DIST=. -f Dockerfile -t "migrade:$version" "$out"
  elif command -v buildah >/dev/null 2>&1; then
    buildah bud --isolation chroot --build-arg DIST=. -f Dockerfile -t "migrade:$version" "$out"
  else
    echo "dist: no docker daemon and no buildah: the container image (Dockerfile) is not built"
  fi
fi
(cd "$out" && cat ./*.sha256 > SHA256SUMS)
echo "dist: artifacts in $out:"
ls -l "$out"
