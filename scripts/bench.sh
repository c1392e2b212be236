#!/usr/bin/env bash
# Benchmark: migrade against `cat` of the same files, in the same run.
#
# Usage:
#   scripts/bench.sh [--runs N] [--corpus DIR] [--no-build]
#
#   --runs N      timed runs per measurement, best (minimum) wall time is kept (default 10, at least 5)
#   --corpus DIR  migration corpus to lint (default ../shared/corpus beside the repo, or $MIGRADE_CORPUS)
#   --no-build    use the existing target/release/migrade instead of `cargo build --release`
#
# What it does:
#   1. builds the release binary (`cargo build --release --locked`);
#   2. if the corpus folder is absent, prints why and exits 0 (nothing measured);
#   3. makes a 10x replica of the corpus in a temporary folder (rep0/ .. rep9/, each a full
#      copy that keeps the folder structure), removed on exit;
#   4. for the corpus (1x) and the replica (10x) it times, with hyperfine (best of N, after one
#      warm-up run, so the files are in the page cache):
#        migrade lint --format json DIR > /dev/null
#        find DIR -name '*.sql' -print0 | xargs -0 cat > /dev/null
#      and measures each one's peak RSS with `/usr/bin/time -v` ("Maximum resident set size");
#      and, when squawk is installed (the `squawk-cli` PyPI package, in the tools virtualenv
#      target/py-tools or $MIGRADE_VENV, or on PATH), the same *.sql files through it:
#        squawk --reporter json 'DIR/**/*.sql' > /dev/null
#      (skipped with a message when it is not; install it with
#      `target/py-tools/bin/pip install squawk-cli`);
#   5. runs examples/parse_floor.rs on the corpus: read, split and pg_query-parse every
#      statement on one thread, no rules or report (the parser's share of the work);
#   6. times one small file end to end (process start to exit):
#        migrade lint --format json fixtures/grades/high.sql > /dev/null
#   7. prints a table: wall (best and mean), files/s, MB/s (10^6 bytes of *.sql), CPU time
#      (user + system, mean) and cores busy (CPU / wall mean), peak RSS (highest of 3 runs),
#      the ratio migrade/cat, the 10x scaling ratio wall(10x) / (10 * wall(1x)), and RSS 10x vs 1x;
#   8. checks issue 16's four targets, each a ratio of figures of this one run:
#        CPU (user + sys, mean) of the lint <= 1.5x the parser floor (pg_query + IR, step 5)
#          on 1x and 10x (the floor of 10x is ten times that of 1x: the replica is ten copies);
#        wall (best) <= 2.5x cat's;  squawk's wall (best) >= 2x migrade's;
#        peak RSS <= 40 MiB on 1x and 10x, 10x/1x <= 1.25 (flat);  one small file <= 5 ms (best).
#
# Needs hyperfine and GNU time (Debian packages `hyperfine` and `time`). When missing and
# apt-get is usable (root), the script installs them; set BENCH_NO_INSTALL=1 to forbid that.
# Without hyperfine it falls back to a bash timing loop (same best-of-N figures, no shell
# overhead correction); without GNU time, RSS is reported as "n/a".
#
# migrade exits 1 when a file grades high or worse, which the corpus does; that is expected
# and ignored here (hyperfine -i).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

RUNS=10
CORPUS="${MIGRADE_CORPUS:-$ROOT/../shared/corpus}"
BUILD=1
SMALL="fixtures/grades/high.sql"

while [ $# -gt 0 ]; do
    case "$1" in
        --runs) RUNS="$2"; shift 2 ;;
        --corpus) CORPUS="$2"; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
if [ "$RUNS" -lt 5 ]; then
    echo "bench.sh: --runs must be at least 5" >&2
    exit 2
fi

# ---- tools ----
apt_install() {
    [ "${BENCH_NO_INSTALL:-0}" = 1 ] && return 1
    command -v apt-get >/dev/null 2>&1 || return 1
    [ "$(id -u)" = 0 ] || return 1
    echo "bench.sh: installing Debian package(s) $* ..." >&2
    { apt-get install -y -qq "$@" || { apt-get update -qq && apt-get install -y -qq "$@"; }; } >/dev/null 2>&1
}
if ! command -v hyperfine >/dev/null 2>&1; then
    apt_install hyperfine || true
fi
if [ ! -x /usr/bin/time ]; then
    apt_install time || true
fi
HAVE_HYPERFINE=0
command -v hyperfine >/dev/null 2>&1 && HAVE_HYPERFINE=1
HAVE_TIME=0
SQUAWK=""
for s in "${MIGRADE_VENV:-$ROOT/target/py-tools}/bin/squawk" "$(command -v squawk 2>/dev/null || true)"; do
    if [ -n "$s" ] && [ -x "$s" ]; then SQUAWK="$s"; break; fi
done
[ -x /usr/bin/time ] && /usr/bin/time -v true >/dev/null 2>&1 && HAVE_TIME=1

# ---- build ----
BIN="$ROOT/target/release/migrade"
if [ "$BUILD" = 1 ]; then
    echo "bench.sh: cargo build --release --locked" >&2
    cargo build --release --locked --quiet
    cargo build --release --locked --quiet --example parse_floor
fi
[ -x "$BIN" ] || { echo "bench.sh: $BIN not found (build it or drop --no-build)" >&2; exit 2; }

if [ ! -d "$CORPUS" ]; then
    echo "bench.sh: corpus folder $CORPUS is absent; skipping the benchmark (pass --corpus DIR or set MIGRADE_CORPUS)"
    exit 0
fi
CORPUS="$(cd "$CORPUS" && pwd)"

TMP="$(mktemp -d "${TMPDIR:-/tmp}/migrade-bench.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
REP="$TMP/corpus10"
mkdir -p "$REP"
for i in 0 1 2 3 4 5 6 7 8 9; do
    cp -R "$CORPUS" "$REP/rep$i"
done

count_files() { find "$1" -name '*.sql' -type f | wc -l; }
count_bytes() { find "$1" -name '*.sql' -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}'; }

# time_cmd NAME MODE CMD -> sets BEST and MEAN (seconds). MODE is "shell" or "noshell".
time_cmd() {
    local name="$1" mode="$2" cmd="$3"
    if [ "$HAVE_HYPERFINE" = 1 ]; then
        local csv="$TMP/$name.csv" shellopt=()
        [ "$mode" = noshell ] && shellopt=(-N)
        hyperfine -i --style none --warmup 1 --runs "$RUNS" "${shellopt[@]}" --export-csv "$csv" "$cmd" >/dev/null 2>&1
        # command,mean,stddev,median,user,system,min,max
        MEAN="$(awk -F, 'NR == 2 {print $2}' "$csv")"
        BEST="$(awk -F, 'NR == 2 {print $7}' "$csv")"
        CPU="$(awk -F, 'NR == 2 {print $5 + $6}' "$csv")"
    else
        CPU=""
        local i t0 t1 best="" sum=0
        bash -c "$cmd" >/dev/null 2>&1 || true
        for ((i = 0; i < RUNS; i++)); do
            t0=$(date +%s%N)
            bash -c "$cmd" >/dev/null 2>&1 || true
            t1=$(date +%s%N)
            local d=$((t1 - t0))
            sum=$((sum + d))
            if [ -z "$best" ] || [ "$d" -lt "$best" ]; then best=$d; fi
        done
        BEST="$(awk -v n="$best" 'BEGIN {printf "%.6f", n / 1e9}')"
        MEAN="$(awk -v n="$sum" -v r="$RUNS" 'BEGIN {printf "%.6f", n / r / 1e9}')"
    fi
}

# rss_kib CMD -> peak RSS in KiB of the command and everything it waited for (the
# highest of 3 runs: the peak depends on which large files are in flight together).
rss_kib() {
    if [ "$HAVE_TIME" = 1 ]; then
        for _ in 1 2 3; do
            { /usr/bin/time -v bash -c "$1" 2>&1 >/dev/null || true; } | awk -F': ' '/Maximum resident set size/ {print $2}'
        done | sort -n | tail -1
    else
        echo ""
    fi
}

fmt_rss() { if [ -n "$1" ]; then awk -v k="$1" 'BEGIN {printf "%.1f MiB", k / 1024}'; else echo "n/a"; fi; }

declare -A WALL MEANS CPUS RSS FILES BYTES
for size in 1x 10x; do
    dir="$CORPUS"
    [ "$size" = 10x ] && dir="$REP"
    FILES[$size]=$(count_files "$dir")
    BYTES[$size]=$(count_bytes "$dir")
    mig="$BIN lint --format json $dir"
    cat_cmd="find $dir -name '*.sql' -print0 | xargs -0 cat > /dev/null"
    echo "bench.sh: timing $size (${FILES[$size]} files, best of $RUNS) ..." >&2
    time_cmd "migrade-$size" noshell "$mig"
    WALL[migrade-$size]=$BEST; MEANS[migrade-$size]=$MEAN; CPUS[migrade-$size]=$CPU
    time_cmd "cat-$size" shell "$cat_cmd"
    WALL[cat-$size]=$BEST; MEANS[cat-$size]=$MEAN; CPUS[cat-$size]=$CPU
    RSS[migrade-$size]=$(rss_kib "$mig > /dev/null")
    RSS[cat-$size]=$(rss_kib "$cat_cmd")
    if [ -n "$SQUAWK" ]; then
        # squawk expands the pattern itself (no argument list limit at 10x); it exits 1
        # when it finds something, as migrade does.
        time_cmd "squawk-$size" noshell "$SQUAWK --reporter json '$dir/**/*.sql'"
        WALL[squawk-$size]=$BEST; MEANS[squawk-$size]=$MEAN; CPUS[squawk-$size]=$CPU
        RSS[squawk-$size]=$(rss_kib "$SQUAWK --reporter json '$dir/**/*.sql' > /dev/null")
    fi
done
[ -z "$SQUAWK" ] && echo "bench.sh: squawk is not installed; skipping it (install: python3 -m venv target/py-tools && target/py-tools/bin/pip install squawk-cli)" >&2

echo "bench.sh: timing one small file ($SMALL) ..." >&2
time_cmd small noshell "$BIN lint --format json $SMALL"
SMALL_BEST=$BEST; SMALL_MEAN=$MEAN
SMALL_RSS=$(rss_kib "$BIN lint --format json $SMALL > /dev/null")

echo "bench.sh: timing the parser alone (examples/parse_floor.rs, one thread) ..." >&2
FLOOR_BIN="$ROOT/target/release/examples/parse_floor"
FLOOR=""
FLOOR_S=""
if [ ! -x "$FLOOR_BIN" ]; then
    echo "bench.sh: $FLOOR_BIN not built: the CPU / parser floor targets print n/a (drop --no-build, or cargo build --release --example parse_floor)" >&2
else
    "$FLOOR_BIN" "$CORPUS" >/dev/null # warm-up
    # The best of 3 runs (the lowest pg_query + IR time).
    for _ in 1 2 3; do
        line="$("$FLOOR_BIN" "$CORPUS")"
        s="$(sed -n 's/.*pg_query + IR \([0-9.]*\)s.*/\1/p' <<<"$line")"
        if [ -z "$FLOOR_S" ] || awk -v a="$s" -v b="$FLOOR_S" 'BEGIN {exit !(a < b)}'; then
            FLOOR="$line"; FLOOR_S="$s"
        fi
    done
fi

# ---- report ----
echo
REV="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
git -C "$ROOT" diff --quiet HEAD -- src Cargo.toml Cargo.lock 2>/dev/null || REV="$REV+dirty"
echo "migrade benchmark  $(date -u +%Y-%m-%dT%H:%MZ)  $(nproc) cores  $("$BIN" --version) ($REV)  load average $(cut -d' ' -f1 /proc/loadavg)"
echo "corpus: $CORPUS; best of $RUNS runs$([ "$HAVE_HYPERFINE" = 1 ] && echo " (hyperfine $(hyperfine --version | awk '{print $2}'))" || echo " (bash loop)")"
echo
printf '%-6s %-8s %7s %8s %10s %10s %10s %8s %10s %6s %11s\n' input tool files MB "wall best" "wall mean" "files/s" "MB/s" "cpu mean" cores "peak RSS"
TOOLS="migrade cat"
[ -n "$SQUAWK" ] && TOOLS="migrade cat squawk"
for size in 1x 10x; do
    for tool in $TOOLS; do
        k="$tool-$size"
        awk -v s="$size" -v t="$tool" -v f="${FILES[$size]}" -v b="${BYTES[$size]}" \
            -v w="${WALL[$k]}" -v m="${MEANS[$k]}" -v c="${CPUS[$k]}" -v r="$(fmt_rss "${RSS[$k]}")" \
            'BEGIN {
                cpu = (c == "") ? "n/a" : sprintf("%.3fs", c); cores = (c == "") ? "n/a" : sprintf("%.2f", c / m)
                printf "%-6s %-8s %7d %8.2f %9.3fs %9.3fs %10.0f %8.1f %10s %6s %11s\n", s, t, f, b / 1e6, w, m, f / w, b / 1e6 / w, cpu, cores, r
            }'
    done
done
echo
awk -v m1="${WALL[migrade-1x]}" -v c1="${WALL[cat-1x]}" -v m10="${WALL[migrade-10x]}" -v c10="${WALL[cat-10x]}" \
    -v r1="${RSS[migrade-1x]}" -v r10="${RSS[migrade-10x]}" 'BEGIN {
    printf "ratio migrade/cat:        1x %.1fx   10x %.1fx\n", m1 / c1, m10 / c10
    printf "10x scaling wall(10x)/(10*wall(1x)):  migrade %.2f   cat %.2f   (1.00 = linear)\n", m10 / (10 * m1), c10 / (10 * c1)
    if (r1 != "" && r10 != "") printf "migrade peak RSS:         1x %.1f MiB   10x %.1f MiB   (10x/1x = %.2f)\n", r1 / 1024, r10 / 1024, r10 / r1
}'
[ -n "$FLOOR" ] && echo "parser alone on 1x (split + pg_query + IR, no rules or report): $FLOOR"
awk -v b="$SMALL_BEST" -v m="$SMALL_MEAN" -v f="$SMALL" -v r="$(fmt_rss "$SMALL_RSS")" \
    'BEGIN {printf "single small file (%s), start to exit: best %.1f ms, mean %.1f ms, peak RSS %s\n", f, b * 1000, m * 1000, r}'
[ -n "$SQUAWK" ] && echo "squawk: $("$SQUAWK" --version)"

# ---- issue 16's targets ----
echo
echo "targets (issue 16), from this run:"
check() { # NAME VALUE LIMIT OP(le|ge) UNIT
    awk -v n="$1" -v v="$2" -v l="$3" -v op="$4" -v u="$5" 'BEGIN {
        if (v == "") { printf "  %-44s n/a\n", n; exit }
        ok = (op == "le") ? (v <= l) : (v >= l)
        printf "  %-44s %8.2f%s  (target %s %s%s)  %s\n", n, v, u, (op == "le") ? "<=" : ">=", l, u, ok ? "met" : "NOT met"
    }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print ""; else printf "%.4f", a / b }'; }
mib() { awk -v k="$1" 'BEGIN { if (k == "") print ""; else printf "%.2f", k / 1024 }'; }
F10=""
[ -n "$FLOOR_S" ] && F10="$(awk -v f="$FLOOR_S" 'BEGIN {print f * 10}')"
check "CPU / parser floor, 1x" "$(ratio "${CPUS[migrade-1x]}" "$FLOOR_S")" 1.5 le x
check "CPU / parser floor, 10x" "$(ratio "${CPUS[migrade-10x]}" "$F10")" 1.5 le x
check "wall / cat, 1x" "$(ratio "${WALL[migrade-1x]}" "${WALL[cat-1x]}")" 2.5 le x
check "wall / cat, 10x" "$(ratio "${WALL[migrade-10x]}" "${WALL[cat-10x]}")" 2.5 le x
check "squawk wall / migrade wall, 1x" "$(ratio "${WALL[squawk-1x]:-}" "${WALL[migrade-1x]}")" 2 ge x
check "squawk wall / migrade wall, 10x" "$(ratio "${WALL[squawk-10x]:-}" "${WALL[migrade-10x]}")" 2 ge x
check "peak RSS, 1x" "$(mib "${RSS[migrade-1x]}")" 40 le " MiB"
check "peak RSS, 10x" "$(mib "${RSS[migrade-10x]}")" 40 le " MiB"
check "peak RSS 10x / 1x (flat)" "$(ratio "${RSS[migrade-10x]}" "${RSS[migrade-1x]}")" 1.25 le x
check "one small file, best" "$(awk -v b="$SMALL_BEST" 'BEGIN {printf "%.2f", b * 1000}')" 5 le " ms"
