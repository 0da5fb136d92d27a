#!/usr/bin/env bash
# Runs Redis 7.0.15's own Sentinel test suite (tests/sentinel/run.tcl) twice:
# once with the real redis-sentinel, once with `redsim serve --sentinel`
# standing in for it, and prints a per-test table side by side.
#
# Usage: ci/sentinel-suite.sh [real|redsim|both] [--single <pattern>]...
#   (default: both; extra arguments go to run.tcl, e.g. --single 00-base)
#   REDIS_TESTS_DIR  a directory holding Redis 7.0.15's `tests/` (skips git)
#   REDIS_GIT_DIR    a git directory with tag 7.0.15 (default: the mirror,
#                    /work/.mirror/redis+redis/repo)
#   REDSIM_BIN       a prebuilt redsim binary (default: cargo build --release)
#   SUITE_LOG_DIR    keep each run's log (run-real.log, run-redsim.log) there
#   SUITE_KEEP=1     keep the work directory (instance logs, sentinel.conf files)
#
# run.tcl spawns ../../../src/redis-server and ../../../src/redis-sentinel
# with one argument, the instance's config file (tests/instances.tcl,
# exec_instance). The work directory gets a src/ with redis-server (the
# installed binary, both runs) and redis-sentinel: the installed binary for
# the real run, a wrapper that execs `redsim serve --sentinel --config <conf>`
# for the redsim run. The wrapper execs, so the pid run.tcl kills, SIGSTOPs and
# restarts is redsim's. Needs tclsh 8.6, redis-server and redis-sentinel 7.0.15.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
REDIS_GIT_DIR=${REDIS_GIT_DIR:-/work/.mirror/redis+redis/repo}
REDIS_TAG=7.0.15
MODE=both
if [ $# -gt 0 ] && [[ "$1" =~ ^(real|redsim|both)$ ]]; then
    MODE=$1
    shift
fi
EXTRA=("$@")

for tool in tclsh redis-server redis-sentinel; do
    command -v "$tool" >/dev/null || {
        echo "sentinel-suite: $tool is required (apt-get install -y tcl redis-server redis-sentinel)" >&2
        exit 2
    }
done
redis-server --version | grep -q "v=$REDIS_TAG" || echo "sentinel-suite: warning: redis-server is not $REDIS_TAG" >&2

WORK=$(mktemp -d /tmp/redsim-sentinel-suite.XXXXXX)
cleanup() {
    if [ "${SUITE_KEEP:-0}" = 1 ]; then echo "sentinel-suite: kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

if [ "$MODE" != real ] && [ -z "${REDSIM_BIN:-}" ]; then
    (cd "$REPO_ROOT" && cargo build -q --release -p redsim-scenarios --bin redsim)
    REDSIM_BIN="${CARGO_TARGET_DIR:-$REPO_ROOT/target}/release/redsim"
fi

# One tree per run: run.tcl writes its instances under tests/sentinel/tmp.
unpack() {
    local into=$1
    mkdir -p "$into"
    if [ -n "${REDIS_TESTS_DIR:-}" ]; then
        cp -r "$REDIS_TESTS_DIR/tests" "$into/"
    else
        git --git-dir="$REDIS_GIT_DIR" rev-parse -q --verify "refs/tags/$REDIS_TAG" >/dev/null || {
            echo "sentinel-suite: no tag $REDIS_TAG in $REDIS_GIT_DIR; set REDIS_GIT_DIR or REDIS_TESTS_DIR" >&2
            exit 2
        }
        git --git-dir="$REDIS_GIT_DIR" archive "$REDIS_TAG" tests | tar -x -C "$into"
    fi
    mkdir -p "$into/src" "$into/tests/sentinel/tmp"
    ln -sf "$(command -v redis-server)" "$into/src/redis-server"
    ln -sf "$(command -v redis-cli)" "$into/src/redis-cli" 2>/dev/null || true
}

# Prints "unit<TAB>test<TAB>result" for each test of a run.tcl log.
# result: ok, fail (assertion), error (the unit stopped on an exception),
# or none (the run ended inside the test).
table_of() {
    sed -e 's/\x1b\[[0-9;]*m//g' "$1" | awk '
        function flush(r) { if (test != "") { print unit "\t" test "\t" r; test = "" } }
        /^Testing unit: / { flush("none"); unit = substr($0, 15); next }
        /^[0-9][0-9]:[0-9][0-9]:[0-9][0-9]> / {
            flush("none")
            line = substr($0, 11)
            i = index(line, ": ")
            test = substr(line, 1, i - 1)
            # "New master 127.0.0.1:30002 role matches": the port differs between runs.
            sub(/^New master [^ ]+ role matches$/, "New master <addr> role matches", test)
            rest = substr(line, i + 2)
            if (rest ~ /^FAILED: caught an error/) { flush("error"); next }
            if (rest ~ /FAILED:/) { flush("fail"); next }
            if (rest ~ /OK$/) { flush("ok"); next }
            next
        }
        /^FAILED: caught an error/ { flush("error"); next }
        /OK$/ && test != "" { print unit "\t" test "\tok"; test = ""; next }
        /FAILED:/ && test != "" { print unit "\t" test "\tfail"; test = ""; next }
        END { flush("none") }'
}

run() {
    local name=$1 sentinel=$2 dir="$WORK/$1"
    unpack "$dir"
    if [ "$sentinel" = real ]; then
        ln -sf "$(command -v redis-sentinel)" "$dir/src/redis-sentinel"
    else
        cat >"$dir/src/redis-sentinel" <<EOF
#!/bin/sh
# redis-sentinel <config file>, as tests/instances.tcl starts it.
exec "$REDSIM_BIN" serve --sentinel --config "\$1"
EOF
        chmod +x "$dir/src/redis-sentinel"
    fi
    (cd "$dir" && timeout 3600 tclsh tests/sentinel/run.tcl "${EXTRA[@]}" >"$dir/run.log" 2>&1) || true
    table_of "$dir/run.log" >"$WORK/$name.tsv"
    if [ -n "${SUITE_LOG_DIR:-}" ]; then
        mkdir -p "$SUITE_LOG_DIR"
        cp "$dir/run.log" "$SUITE_LOG_DIR/run-$name.log"
        cp "$WORK/$name.tsv" "$SUITE_LOG_DIR/$name.tsv"
    fi
}

# The two runs use the same ports (run.tcl's 20000.. and 30000..): one at a time.
case $MODE in
    real) run real real ;;
    redsim) run redsim redsim ;;
    both) run real real; run redsim redsim ;;
esac

# The table: every test of either run, in the order of the first run.
join_tables() {
    awk -F'\t' '
        FNR == 1 { file++ }
        {
            key = $1 "\t" $2 "\t" (++seen[file, $1 "\t" $2])
            if (!(key in order)) { order[key] = ++n; keys[n] = key }
            res[file, key] = $3
        }
        END {
            for (i = 1; i <= n; i++) {
                k = keys[i]; split(k, p, "\t")
                a = res[1, k]; b = res[2, k]
                printf "%-22s %-8s %-8s %s\n", p[1], (a == "" ? "-" : a), (b == "" ? "-" : b), p[2]
            }
        }' "$@"
}
count() { awk -F'\t' -v r="$2" '$3 == r' "$1" | wc -l | tr -d ' '; }

case $MODE in
    both)
        printf '%-22s %-8s %-8s %s\n' unit real redsim test
        join_tables "$WORK/real.tsv" "$WORK/redsim.tsv"
        for name in real redsim; do
            printf '%s: %s ok, %s fail, %s error, %s unfinished\n' "$name" \
                "$(count "$WORK/$name.tsv" ok)" "$(count "$WORK/$name.tsv" fail)" \
                "$(count "$WORK/$name.tsv" error)" "$(count "$WORK/$name.tsv" none)"
        done
        ;;
    *)
        printf '%-22s %-8s %s\n' unit "$MODE" test
        awk -F'\t' '{ printf "%-22s %-8s %s\n", $1, $3, $2 }' "$WORK/$MODE.tsv"
        printf '%s: %s ok, %s fail, %s error, %s unfinished\n' "$MODE" \
            "$(count "$WORK/$MODE.tsv" ok)" "$(count "$WORK/$MODE.tsv" fail)" \
            "$(count "$WORK/$MODE.tsv" error)" "$(count "$WORK/$MODE.tsv" none)"
        ;;
esac
