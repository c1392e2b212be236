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
#   5. runs examples/parse_floor.rs on the corpus: read, split and pg_query-parse every
#      statement on one thread, no rules or report (the parser's share of the work);
#   6. times one small file end to end (process start to exit):
#        migrade lint --format json fixtures/grades/high.sql > /dev/null
#   7. prints a table: wall (best and mean), files/s, MB/s (10^6 bytes of *.sql), CPU time
#      (user + system, mean) and cores busy (CPU / wall mean), peak RSS (highest of 3 runs),
#      the ratio migrade/cat, the 10x scaling ratio wall(10x) / (10 * wall(1x)), and RSS 10x vs 1x.
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
done

echo "bench.sh: timing one small file ($SMALL) ..." >&2
time_cmd small noshell "$BIN lint --format json $SMALL"
SMALL_BEST=$BEST; SMALL_MEAN=$MEAN
SMALL_RSS=$(rss_kib "$BIN lint --format json $SMALL > /dev/null")

echo "bench.sh: timing the parser alone (examples/parse_floor.rs, one thread) ..." >&2
FLOOR_BIN="$ROOT/target/release/examples/parse_floor"
FLOOR=""
if [ -x "$FLOOR_BIN" ]; then
    "$FLOOR_BIN" "$CORPUS" >/dev/null # warm-up
    FLOOR="$("$FLOOR_BIN" "$CORPUS")"
fi

# ---- report ----
echo
REV="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
git -C "$ROOT" diff --quiet HEAD -- src Cargo.toml Cargo.lock 2>/dev/null || REV="$REV+dirty"
echo "migrade benchmark  $(date -u +%Y-%m-%dT%H:%MZ)  $(nproc) cores  $("$BIN" --version) ($REV)  load average $(cut -d' ' -f1 /proc/loadavg)"
echo "corpus: $CORPUS; best of $RUNS runs$([ "$HAVE_HYPERFINE" = 1 ] && echo " (hyperfine $(hyperfine --version | awk '{print $2}'))" || echo " (bash loop)")"
echo
printf '%-6s %-8s %7s %8s %10s %10s %10s %8s %10s %6s %11s\n' input tool files MB "wall best" "wall mean" "files/s" "MB/s" "cpu mean" cores "peak RSS"
for size in 1x 10x; do
    for tool in migrade cat; do
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
