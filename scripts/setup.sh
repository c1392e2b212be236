#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks to build and test migrade:
# clang + libclang-dev (pg_query builds libpg_query and its bindings with them),
# postgresql (the real-server lock tests), python3-pip tools for the hook/action tests.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(clang libclang-dev)
if [ "${1:-}" = "--test" ]; then
  packages+=(postgresql git)
fi
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
