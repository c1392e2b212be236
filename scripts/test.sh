#!/usr/bin/env bash
# Runs everything CI runs, on a fresh Debian machine too: installs what is
# missing, then fmt, clippy, and every test (including the real PostgreSQL suite).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh --test
source scripts/python-tools.sh
source scripts/node-tools.sh
cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --locked
