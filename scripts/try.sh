#!/usr/bin/env bash
# For a new machine: installs what is missing, builds migrade, and lints the
# bundled example migrations (fixtures/example). Extra arguments go to `lint`.
# `scripts/try.sh --verify [ARGS]`: also installs PostgreSQL when missing and runs
# `migrade verify fixtures/example` (a throwaway server; extra arguments go to `verify`).
set -euo pipefail
cd "$(dirname "$0")/.."
cmd=lint
if [ "${1:-}" = "--verify" ]; then
  cmd=verify
  shift
  source scripts/setup.sh --verify
else
  source scripts/setup.sh
fi
cargo build --release --locked
set +e
./target/release/migrade "$cmd" fixtures/example "$@"
code=$?
echo "migrade exit code: $code (0 = below --fail-on, 1 = a file reached --fail-on, 2 = error)"
exit 0
