#!/usr/bin/env bash
# Runs every built-in scenario twice at its first pinned seed with the given
# redsim binary and fails if the two trace hashes differ.
set -euo pipefail
bin=${1:-target/release/redsim}
status=0
while IFS=$'\t' read -r name _title; do
  h1=$("$bin" run "$name" --seed 1 --json | python3 -c 'import sys,json; print(json.load(sys.stdin)["trace_hash"])')
  h2=$("$bin" run "$name" --seed 1 --json | python3 -c 'import sys,json; print(json.load(sys.stdin)["trace_hash"])')
  if [ "$h1" = "$h2" ]; then
    echo "determinism: $name seed 1 $h1 ok"
  else
    echo "determinism: $name seed 1 DIVERGED: $h1 vs $h2"; status=1
  fi
done < <("$bin" list)
exit $status
