#!/usr/bin/env python3
"""Measurements 1 and 3: fork time per GB of RSS, and BGSAVE child throughput.

For each dataset (DEBUG POPULATE's zero-padded, compressible values, or
random incompressible values set from this client) the script starts a fresh
redis-server, fills it, then runs BGSAVE `--repeat` times on the same data and
records per run:
  latest_fork_usec (the parent's fork() stall), used_memory, used_memory_rss,
  the child's wall time from the log ("Background saving started by pid" in
  the parent to "DB saved on disk" in the child, millisecond timestamps),
  the child's CPU time (utime+stime polled from /proc/<child>/stat every 5 ms),
  the RDB file size, rdb_last_cow_size and the log's final CoW line.

Usage:
  python3 fork_bgsave.py                       # all datasets, 3 runs each
  python3 fork_bgsave.py --only pop1000x1M --repeat 3
  python3 fork_bgsave.py --only rand1000x1M --rdbcompression no   # results/..._nocompress.json
"""

import argparse
import os
import time

import common

CLK = os.sysconf("SC_CLK_TCK")

# name -> (keys, value bytes, random values?)
DATASETS = {
    "pop1000x1M": (1_000_000, 1000, False),
    "pop1000x4M": (4_000_000, 1000, False),
    "pop100x5M": (5_000_000, 100, False),
    "pop100x20M": (20_000_000, 100, False),
    "rand1000x1M": (1_000_000, 1000, True),
    "rand100x5M": (5_000_000, 100, True),
}


def child_pid(server_pid):
    try:
        with open("/proc/%d/task/%d/children" % (server_pid, server_pid)) as f:
            kids = f.read().split()
        return int(kids[0]) if kids else None
    except OSError:
        return None


def cpu_seconds(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        # fields[0] is state (field 3); utime and stime are fields 14 and 15.
        return (int(fields[11]) + int(fields[12])) / CLK
    except (OSError, IndexError):
        return None


def one_bgsave(srv):
    """Run BGSAVE, follow the child's CPU time, and return the run's figures."""
    c = srv.conn
    t0 = time.time()
    c.call("BGSAVE")
    cpu = None
    kid = None
    while True:
        if kid is None:
            kid = child_pid(srv.proc.pid)
        if kid is not None:
            v = cpu_seconds(kid)
            if v is not None:
                cpu = v
        if c.info("persistence")["rdb_bgsave_in_progress"] == "0":
            break
        time.sleep(0.005)
    wall_poll = time.time() - t0
    info = c.info()
    span, cow = common.last_child_span(srv.log_text(), "Background saving started by pid",
                                       "DB saved on disk")
    rdb = os.path.join(srv.dir, "dump.rdb")
    return {
        "latest_fork_usec": int(info["latest_fork_usec"]),
        "used_memory": int(info["used_memory"]),
        "used_memory_rss": int(info["used_memory_rss"]),
        "rdb_last_bgsave_time_sec": int(info["rdb_last_bgsave_time_sec"]),
        "rdb_last_bgsave_status": info["rdb_last_bgsave_status"],
        "rdb_last_cow_size": int(info["rdb_last_cow_size"]),
        "child_wall_s_log": span,
        "child_cpu_s": cpu,
        "wall_poll_s": wall_poll,
        "rdb_bytes": os.path.getsize(rdb),
        "cow_log": cow,
    }


def run_dataset(name, port, repeat, compression="yes"):
    keys, size, rnd = DATASETS[name]
    cfg = ["--rdbcompression", compression]
    with common.Server(port, cfg, name=name) as srv:
        t0 = time.time()
        common.populate(srv, keys, size, random_values=rnd)
        fill_s = time.time() - t0
        dbsize = srv.conn.call("DBSIZE")
        runs = []
        for i in range(repeat):
            r = one_bgsave(srv)
            gb = r["used_memory_rss"] / 2**30
            r["fork_ms_per_gb_rss"] = r["latest_fork_usec"] / 1000 / gb
            if r["child_wall_s_log"]:
                r["used_memory_bytes_per_s"] = r["used_memory"] / r["child_wall_s_log"]
                r["rdb_bytes_per_s"] = r["rdb_bytes"] / r["child_wall_s_log"]
            if r["child_cpu_s"]:
                r["child_cpu_ns_per_used_byte"] = r["child_cpu_s"] * 1e9 / r["used_memory"]
                r["child_cpu_ns_per_key"] = r["child_cpu_s"] * 1e9 / dbsize
            if r["child_wall_s_log"]:
                r["child_wall_ns_per_key"] = r["child_wall_s_log"] * 1e9 / dbsize
            print(name, i, {k: r[k] for k in ("latest_fork_usec", "used_memory_rss", "fork_ms_per_gb_rss",
                                              "child_wall_s_log", "child_cpu_s", "rdb_bytes", "rdb_last_cow_size")},
                  flush=True)
            runs.append(r)
            time.sleep(1)
    out = {"dataset": name, "rdbcompression": compression, "keys": keys, "value_bytes": size, "random_values": rnd,
           "fill_seconds": fill_s, "dbsize": dbsize, "runs": runs, "machine": common.machine_note()}
    for k in ("latest_fork_usec", "fork_ms_per_gb_rss", "child_wall_s_log", "child_cpu_s",
              "used_memory_bytes_per_s", "rdb_bytes_per_s", "child_cpu_ns_per_used_byte",
              "child_cpu_ns_per_key", "child_wall_ns_per_key", "rdb_bytes", "used_memory_rss",
              "used_memory", "rdb_last_cow_size"):
        out[k] = common.summary([r.get(k) for r in runs])
    common.save_result("fork_bgsave_" + name + ("" if compression == "yes" else "_nocompress"), out)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", action="append", choices=sorted(DATASETS))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--port", type=int, default=23101)
    ap.add_argument("--rdbcompression", default="yes", choices=("yes", "no"))
    args = ap.parse_args()
    for name in args.only or list(DATASETS):
        run_dataset(name, args.port, args.repeat, args.rdbcompression)


if __name__ == "__main__":
    main()
