#!/usr/bin/env bash
# Runs Redis 7.0.15's own test suite (external-server mode) against
# `redsim serve`, unit by unit, and prints pass/fail counts.
#
# Usage: ci/redis-suite.sh [unit ...]       (default: the units redsim implements)
#   REDIS_GIT_DIR  a git directory holding the redis/redis history with tag 7.0.15
#                  (default /work/.mirror/redis+redis/repo; or a clone, see below)
#   REDSIM_PORT    port for redsim serve (default 7311)
#   TEST_TIMEOUT_S idle timeout given to test_helper.tcl (default 300)
#   REDSIM_BIN     a prebuilt redsim binary to test (default: build target/debug/redsim)
#
# The tests are extracted into a temporary directory and never committed.
# --verbose is not cosmetic: without it the 7.0.15 helper loses the unit/type/string
# run in a [TIMEOUT] (its test server stops hearing from the client).
# Needs tclsh. Without a local copy of the redis repository:
#   git clone --bare --filter=blob:none https://github.com/redis/redis /tmp/redis.git
#   REDIS_GIT_DIR=/tmp/redis.git ci/redis-suite.sh
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
REDIS_GIT_DIR=${REDIS_GIT_DIR:-/work/.mirror/redis+redis/repo}
REDIS_TAG=7.0.15
PORT=${REDSIM_PORT:-7311}
TEST_TIMEOUT_S=${TEST_TIMEOUT_S:-300}
if [ $# -gt 0 ]; then
    UNITS=("$@")
else
    UNITS=(unit/keyspace unit/type/string unit/type/incr unit/expire unit/type/list unit/type/hash unit/type/set unit/type/zset unit/multi)
fi

command -v tclsh >/dev/null || { echo "redis-suite: tclsh is required (apt-get install -y tcl)" >&2; exit 2; }
git --git-dir="$REDIS_GIT_DIR" rev-parse -q --verify "refs/tags/$REDIS_TAG" >/dev/null || {
    echo "redis-suite: no tag $REDIS_TAG in $REDIS_GIT_DIR; set REDIS_GIT_DIR (see the header of this script)" >&2
    exit 2
}

WORK=$(mktemp -d /tmp/redsim-suite.XXXXXX)
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

git --git-dir="$REDIS_GIT_DIR" archive "$REDIS_TAG" tests | tar -x -C "$WORK"
# The helper looks for the binaries under src/ even in external mode (a few
# tests shell out to redis-cli); point it at the installed ones if present.
mkdir -p "$WORK/src"
for bin in redis-server redis-cli redis-benchmark redis-check-aof redis-check-rdb; do
    if command -v "$bin" >/dev/null; then ln -sf "$(command -v "$bin")" "$WORK/src/$bin"; fi
done

if [ -z "${REDSIM_BIN:-}" ]; then
    (cd "$REPO_ROOT" && cargo build -q -p redsim-scenarios --bin redsim)
    REDSIM_BIN="$REPO_ROOT/target/debug/redsim"
fi
# serve persists in its dir: keep its dump.rdb and appendonlydir out of the repo.
printf "enable-debug-command yes\ndir %s\n" "$WORK" > "$WORK/redsim.conf"
"$REDSIM_BIN" serve --port "$PORT" --config "$WORK/redsim.conf" >"$WORK/redsim.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
    if (exec 3<>/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null; then break; fi
    sleep 0.1
done

total_ok=0; total_err=0; total_exc=0; total_skip=0
printf '%-22s %6s %6s %6s %6s\n' unit ok err exc skip
for unit in "${UNITS[@]}"; do
    log="$WORK/$(echo "$unit" | tr / _).log"
    (cd "$WORK" && timeout 900 tclsh tests/test_helper.tcl --host 127.0.0.1 --port "$PORT" \
        --clients 1 --durable --verbose --timeout "$TEST_TIMEOUT_S" --single "$unit" 2>&1 | sed -e "s/\x1b\[[0-9;]*m//g" >"$log") || true
    ok=$(grep -c '^\[ok\]' "$log" || true)
    err=$(grep -c '^\[err\]' "$log" || true)
    exc=$(grep -c '^\[exception\]' "$log" || true)
    skip=$(grep -c '^\[skip\]' "$log" || true)
    printf '%-22s %6s %6s %6s %6s\n' "$unit" "$ok" "$err" "$exc" "$skip"
    if [ "${REDIS_SUITE_VERBOSE:-0}" = 1 ]; then grep -E '^\[(err|exception)\]' -A3 "$log" | head -80 || true; fi
    if [ -n "${REDIS_SUITE_LOG_DIR:-}" ]; then mkdir -p "$REDIS_SUITE_LOG_DIR"; cp "$log" "$REDIS_SUITE_LOG_DIR/"; fi
    total_ok=$((total_ok + ok)); total_err=$((total_err + err)); total_exc=$((total_exc + exc)); total_skip=$((total_skip + skip))
    if kill -0 "$SERVER_PID" 2>/dev/null && command -v redis-cli >/dev/null \
        && ! timeout 5 redis-cli -p "$PORT" ping >/dev/null 2>&1; then
        echo "redis-suite: redsim serve stopped answering during $unit (hung); restarting it" >&2
        kill "$SERVER_PID" 2>/dev/null || true
    fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        echo "redis-suite: redsim serve died during $unit; last log lines:" >&2
        tail -5 "$WORK/redsim.log" >&2
        "$REDSIM_BIN" serve --port "$PORT" --config "$WORK/redsim.conf" >>"$WORK/redsim.log" 2>&1 &
        SERVER_PID=$!
        sleep 0.5
    fi
done
printf '%-22s %6s %6s %6s %6s\n' total "$total_ok" "$total_err" "$total_exc" "$total_skip"
