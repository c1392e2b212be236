#!/usr/bin/env bash
# Seeds the fuzz corpora from the repo's fixtures: every fixtures/**/*.sql file is
# copied into fuzz/corpus/<target>/ for each target (the corpus folders are git-ignored).
# Usage: fuzz/seed.sh            (run from anywhere)
set -euo pipefail
cd "$(dirname "$0")"
for target in split lint_file report_human; do
    mkdir -p "corpus/$target"
    n=0
    while IFS= read -r -d '' f; do
        # Flatten the path into a unique file name.
        name="$(echo "${f#../fixtures/}" | tr '/' '_')"
        cp "$f" "corpus/$target/$name"
        n=$((n + 1))
    done < <(find ../fixtures -name '*.sql' -type f -print0)
    echo "fuzz/corpus/$target: $n seed files"
done
