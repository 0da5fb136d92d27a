#!/usr/bin/env python3
"""Measurement 6: BGREWRITEAOF of a ~1 GB dataset with aof-use-rdb-preamble yes.

A fresh redis-server with appendonly yes (empty AOF at start),
aof-use-rdb-preamble yes, rdbcompression yes, gets `DEBUG POPULATE 1000000
key 1000` (DEBUG POPULATE is not propagated, so the incr AOF stays small);
then BGREWRITEAOF runs --repeat times. Per run: latest_fork_usec,
aof_last_rewrite_time_sec, aof_last_cow_size, the log's final "Fork CoW for
AOF rewrite" line, the child's wall time from the log ("Background append only
file rewriting started by pid" to "Successfully created the temporary AOF base
file"), the whole rewrite to "Background AOF rewrite finished successfully",
the base file's size, and the child's CPU time.
With --random the values are random bytes set from this client instead.

Usage:
  python3 aof_rewrite.py --keys 1000000 --size 1000 --repeat 3
"""

import argparse
import glob
import os
import time

import common
from fork_bgsave import child_pid, cpu_seconds


def one_rewrite(srv):
    c = srv.conn
    t0 = time.time()
    c.call("BGREWRITEAOF")
    cpu = kid = None
    while True:
        if kid is None:
            kid = child_pid(srv.proc.pid)
        if kid is not None:
            v = cpu_seconds(kid)
            if v is not None:
                cpu = v
        p = c.info("persistence")
        if p["aof_rewrite_in_progress"] == "0" and p["aof_rewrite_scheduled"] == "0":
            break
        time.sleep(0.005)
    wall = time.time() - t0
    info = c.info()
    text = srv.log_text()
    child, cow = common.last_child_span(text, "Background append only file rewriting started by pid",
                                        "Successfully created the temporary AOF base file")
    whole, _ = common.last_child_span(text, "Background append only file rewriting started by pid",
                                      "Background AOF rewrite finished successfully")
    cow = None
    for m in common.COW_RE.finditer(text):
        if m.group(1) == "AOF rewrite":
            cow = {"current_mb": int(m.group(2)), "peak_mb": int(m.group(3)), "average_mb": int(m.group(4))}
    bases = glob.glob(os.path.join(srv.dir, "appendonlydir", "*.base.*"))
    return {
        "latest_fork_usec": int(info["latest_fork_usec"]),
        "used_memory": int(info["used_memory"]),
        "used_memory_rss": int(info["used_memory_rss"]),
        "aof_last_rewrite_time_sec": int(info["aof_last_rewrite_time_sec"]),
        "aof_last_bgrewrite_status": info["aof_last_bgrewrite_status"],
        "aof_last_cow_size": int(info["aof_last_cow_size"]),
        "cow_log": cow,
        "child_wall_s_log": child,
        "rewrite_wall_s_log": whole,
        "wall_poll_s": wall,
        "child_cpu_s": cpu,
        "base_file": os.path.basename(bases[0]) if bases else None,
        "base_bytes": os.path.getsize(bases[0]) if bases else None,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--size", type=int, default=1000)
    ap.add_argument("--random", action="store_true")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--port", type=int, default=23140)
    args = ap.parse_args()
    cfg = ["--appendonly", "yes", "--aof-use-rdb-preamble", "yes", "--rdbcompression", "yes",
           "--auto-aof-rewrite-percentage", "0"]
    runs = []
    with common.Server(args.port, cfg, name="aofrw") as srv:
        common.populate(srv, args.keys, args.size, random_values=args.random)
        for i in range(args.repeat):
            time.sleep(1)
            r = one_rewrite(srv)
            r["fork_ms_per_gb_rss"] = r["latest_fork_usec"] / 1000 / (r["used_memory_rss"] / 2**30)
            print(i, r, flush=True)
            runs.append(r)
    out = {"keys": args.keys, "value_bytes": args.size, "random_values": args.random, "runs": runs,
           "machine": common.machine_note()}
    for k in ("latest_fork_usec", "fork_ms_per_gb_rss", "aof_last_rewrite_time_sec", "aof_last_cow_size",
              "child_wall_s_log", "rewrite_wall_s_log", "child_cpu_s", "base_bytes", "used_memory_rss"):
        out[k] = common.summary([r[k] for r in runs])
    common.save_result("aof_rewrite_%s%dx%d" % ("rand" if args.random else "pop", args.size, args.keys), out)


if __name__ == "__main__":
    main()
