#!/usr/bin/env python3
"""Measurement 1b: many fork() samples per dataset, without waiting for a whole BGSAVE.

rdb-key-save-delay 100000 (100 ms per key) keeps the child from finishing, so
each BGSAVE's child is killed with SIGUSR1 right after the fork (Redis treats a
child killed by SIGUSR1 as a deliberate abort, not an error), then the next
BGSAVE starts. latest_fork_usec is read after each. Cheap enough to take
--repeat samples (default 10) per dataset, which matters because the fork time
swings with the machine's load.

Usage:
  python3 fork_only.py --repeat 10
  python3 fork_only.py --only pop100x5M --repeat 10
"""

import argparse
import os
import signal
import time

import common
from fork_bgsave import DATASETS, child_pid


def fork_samples(srv, repeat):
    c = srv.conn
    out = []
    for _ in range(repeat):
        c.call("BGSAVE")
        kid = None
        while kid is None:
            kid = child_pid(srv.proc.pid)
            time.sleep(0.001)
        fork_usec = int(c.info("stats")["latest_fork_usec"])
        os.kill(kid, signal.SIGUSR1)
        srv.wait_idle("rdb_bgsave_in_progress", poll=0.005)
        out.append(fork_usec)
        time.sleep(0.5)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", action="append", choices=sorted(DATASETS))
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--port", type=int, default=23150)
    args = ap.parse_args()
    names = args.only or ["pop1000x1M", "pop1000x4M", "pop100x5M", "pop100x20M"]
    for name in names:
        keys, size, rnd = DATASETS[name]
        with common.Server(args.port, ["--rdb-key-save-delay", "100000"], name="fork") as srv:
            common.populate(srv, keys, size, random_values=rnd)
            mem = srv.conn.info("memory")
            rss = int(mem["used_memory_rss"])
            samples = fork_samples(srv, args.repeat)
        per_gb = [u / 1000 / (rss / 2**30) for u in samples]
        print(name, rss, samples, flush=True)
        common.save_result("fork_only_" + name, {
            "dataset": name, "keys": keys, "value_bytes": size, "used_memory_rss": rss,
            "used_memory": int(mem["used_memory"]), "fork_usec": samples,
            "fork_usec_summary": common.summary(samples), "fork_ms_per_gb_rss": common.summary(per_gb),
            "machine": common.machine_note()})


if __name__ == "__main__":
    main()
