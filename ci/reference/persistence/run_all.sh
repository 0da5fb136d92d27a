#!/bin/sh
# Reruns every persistence calibration against the local redis-server 7.0.15,
# one after the other (never two servers measuring at once). Results land in
# results/*.json, console logs in logs/*.log. Takes about 50 minutes on the
# 2-core machine these numbers came from; needs about 12 GB of free RAM
# (the 4 GB datasets plus copy-on-write) and ~2 GB of free disk in /tmp.
set -e
cd "$(dirname "$0")"
mkdir -p logs results
python3 fork_bgsave.py --repeat 3                      > logs/fork_bgsave.log 2>&1
python3 fork_bgsave.py --only rand1000x1M --only pop1000x1M --only pop100x5M --rdbcompression no --repeat 3 > logs/fork_bgsave_nocompress.log 2>&1
python3 fork_only.py --repeat 10                       > logs/fork_only.log 2>&1
python3 cow_share.py --keys 1000000 --size 1000 --fractions 0,0.01,0.05,0.2 --repeat 3 > logs/cow_share.log 2>&1
python3 cow_share.py --keys 5000000 --size 100 --fractions 0.01,0.05,0.2 --repeat 3 > logs/cow_share_100x5M.log 2>&1
python3 bigkey_delete.py --elements 1000000 --repeat 3 > logs/bigkey_delete.log 2>&1
python3 fsync_latency.py --runs 200 --repeat 3         > logs/fsync_latency.log 2>&1
python3 aof_rewrite.py --keys 1000000 --size 1000 --repeat 3 > logs/aof_rewrite.log 2>&1
