#!/usr/bin/env bash
# For a new machine: installs what is missing, builds migrade, and lints the
# bundled example migrations (fixtures/example). Extra arguments go to `lint`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo build --release --locked
set +e
./target/release/migrade lint fixtures/example "$@"
code=$?
echo "migrade exit code: $code (0 = below --fail-on, 1 = a file reached --fail-on, 2 = error)"
exit 0
