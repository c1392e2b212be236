#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks to build and test migrade:
# clang + libclang-dev (pg_query builds libpg_query and its bindings with them),
# postgresql (the real-server lock tests; --verify for migrade verify alone), python3-pip tools for the hook/action tests,
# musl-tools (the statically linked release binary), buildah (its container image).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(clang libclang-dev)
case "${1:-}" in
  --test) packages+=(postgresql git musl-tools buildah) ;;  # the static binary and its image (tests/dist.rs)
  --dist) packages+=(musl-tools) ;;                 # scripts/dist.sh
  --verify) packages+=(postgresql) ;;               # migrade verify's throwaway server (scripts/try.sh --verify)
esac
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    echo "setup: cargo not found; install Rust 1.85+ with rustup (https://rustup.rs) and run again" >&2
    exit 2
  fi
fi

# The statically linked binary's Rust target (tests/dist.rs builds it).
if [ "${1:-}" = "--test" ] && [ "$(uname -s)" = Linux ] && command -v rustup >/dev/null 2>&1; then
  musl_target="$(uname -m)-unknown-linux-musl"
  if ! rustup target list --installed | grep -qx "$musl_target"; then
    echo "setup: adding the Rust target $musl_target"
    rustup target add "$musl_target"
  fi
fi
