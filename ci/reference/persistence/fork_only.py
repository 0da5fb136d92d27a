#!/usr/bin/env python3
"""Measurement 1b: many fork() samples per dataset, without waiting for a whole BGSAVE.

rdb-key-save-delay 100000 (100 ms per key) keeps the child from finishing, so
each BGSAVE's child is killed with SIGUSR1 right after the fork (Redis treats a
child killed by SIGUSR1 as a deliberate abort, not an error), then the next
BGSAVE starts. latest_fork_usec is read after each, and the main thread's
CPU time and run-queue wait over the BGSAVE call (/proc/<pid>/task/<pid>/schedstat),
which separate the fork's own cost from time lost to the shared machine's load. Cheap enough to take
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
    pid = srv.proc.pid
    for _ in range(repeat):
        s0 = common.schedstat(pid, pid)
        c.call("BGSAVE")
        s1 = common.schedstat(pid, pid)
        kid = None
        while kid is None:
            kid = child_pid(srv.proc.pid)
            time.sleep(0.001)
        fork_usec = int(c.info("stats")["latest_fork_usec"])
        os.kill(kid, signal.SIGUSR1)
        srv.wait_idle("rdb_bgsave_in_progress", poll=0.005)
        out.append((fork_usec, (s1[0] - s0[0]) // 1000, (s1[1] - s0[1]) // 1000))
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
            triples = fork_samples(srv, args.repeat)
        samples = [t[0] for t in triples]
        cpu = [t[1] for t in triples]
        per_gb = [u / 1000 / (rss / 2**30) for u in samples]
        cpu_per_gb = [u / 1000 / (rss / 2**30) for u in cpu]
        print(name, rss, samples, flush=True)
        common.save_result("fork_only_" + name, {
            "dataset": name, "keys": keys, "value_bytes": size, "used_memory_rss": rss,
            "used_memory": int(mem["used_memory"]), "fork_usec": samples,
            "fork_usec_summary": common.summary(samples), "fork_ms_per_gb_rss": common.summary(per_gb),
            "main_thread_cpu_usec_over_bgsave_call": cpu,
            "main_thread_runqueue_wait_usec_over_bgsave_call": [t[2] for t in triples],
            "main_thread_cpu_ms_per_gb_rss": common.summary(cpu_per_gb),
            "machine": common.machine_note()})


if __name__ == "__main__":
    main()
