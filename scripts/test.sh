#!/usr/bin/env bash
# Runs everything CI runs, on a fresh Debian machine too: installs what is
# missing, then fmt, clippy, and every test (including the real PostgreSQL suite).
set -euo pipefail
cd "$(dirname "$0")/.."
# Free disk first, and target/'s size at the end: a CI machine that ran out of disk
# printed only "No space left on device", half-way through the tests.
df -h . | sed 's/^/test.sh: /'
source scripts/setup.sh --test
source scripts/python-tools.sh
source scripts/node-tools.sh
cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --locked
du -sh target 2>/dev/null | sed 's/^/test.sh: disk used by /'
