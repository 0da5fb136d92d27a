#!/usr/bin/env python3
"""Measurement 2: copy-on-write during BGSAVE against the share of keys overwritten.

A fresh redis-server gets N keys of random (incompressible) values, with
rdbcompression yes so the child spends CPU trying LZF on every value. A
first BGSAVE with no writes gives the save's duration D. Then, for each
fraction f, BGSAVE runs while this client overwrites f*N distinct keys (a
fresh random permutation per run) with new random values of the same size,
paced evenly over 0.7*D in pipelined batches, so the writes land inside the
save. The writer stops when the child is done. Recorded per run:
writes acknowledged before the child ended (and the resulting fraction of
keys), INFO rdb_last_cow_size, the log's "Fork CoW for RDB: current X MB,
peak Y MB, average Z MB", used_memory_rss before the fork, the child's wall
time from the log, rdb_last_bgsave_time_sec and the RDB file size.

Usage:
  python3 cow_share.py                                   # 1M x 1000 B, f = 0, 1%, 5%, 20%
  python3 cow_share.py --keys 1000000 --size 1000 --fractions 0,0.01,0.05,0.2 --repeat 3
  python3 cow_share.py --key-save-delay 10               # rdb-key-save-delay (us/key) slows the child
"""

import argparse
import os
import random
import time

import common


def build_batches(keys, size, batch):
    """Pre-encoded pipelined SET batches over the given key indexes, with fresh random values."""
    out = []
    for i in range(0, len(keys), batch):
        chunk = keys[i:i + batch]
        blob = os.urandom(size * len(chunk))
        payload = b"".join(common.encode("SET", b"key:%d" % k, blob[j * size:(j + 1) * size])
                           for j, k in enumerate(chunk))
        out.append((payload, len(chunk)))
    return out


def bgsave_with_writes(srv, nkeys, size, fraction, pace_s, rng, batch=200):
    c = srv.conn
    targets = rng.sample(range(nkeys), int(nkeys * fraction))
    batches = build_batches(targets, size, batch)
    rss = int(c.info("memory")["used_memory_rss"])
    interval = pace_s / max(1, len(batches))
    written_during = 0
    t0 = time.time()
    c.call("BGSAVE")
    done = False
    for k, (payload, n) in enumerate(batches):
        c.pipeline(payload, n)
        if c.info("persistence")["rdb_bgsave_in_progress"] == "0":
            done = True
            break
        written_during += n
        wait = t0 + (k + 1) * interval - time.time()
        if wait > 0:
            time.sleep(wait)
    write_end = time.time() - t0
    if not done:
        srv.wait_idle("rdb_bgsave_in_progress", poll=0.005)
    info = c.info()
    span, cow = common.last_child_span(srv.log_text(), "Background saving started by pid",
                                       "DB saved on disk")
    cow_bytes = int(info["rdb_last_cow_size"])
    return {
        "target_fraction": fraction,
        "writes_during_save": written_during,
        "fraction_written": written_during / nkeys,
        "writer_seconds": write_end,
        "used_memory_rss_before": rss,
        "rdb_last_cow_size": cow_bytes,
        "cow_share_of_rss": cow_bytes / rss,
        "cow_bytes_per_write": cow_bytes / written_during if written_during else None,
        "cow_log": cow,
        "child_wall_s_log": span,
        "rdb_last_bgsave_time_sec": int(info["rdb_last_bgsave_time_sec"]),
        "rdb_last_bgsave_status": info["rdb_last_bgsave_status"],
        "latest_fork_usec": int(info["latest_fork_usec"]),
        "rdb_bytes": os.path.getsize(os.path.join(srv.dir, "dump.rdb")),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--size", type=int, default=1000)
    ap.add_argument("--fractions", default="0,0.01,0.05,0.2")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--key-save-delay", type=int, default=0, help="rdb-key-save-delay in microseconds")
    ap.add_argument("--port", type=int, default=23110)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    cfg = ["--rdbcompression", "yes"]
    if args.key_save_delay:
        cfg += ["--rdb-key-save-delay", str(args.key_save_delay)]
    fractions = [float(x) for x in args.fractions.split(",")]
    with common.Server(args.port, cfg, name="cow") as srv:
        common.populate(srv, args.keys, args.size, random_values=True)
        base = bgsave_with_writes(srv, args.keys, args.size, 0.0, 0, rng)
        duration = base["child_wall_s_log"]
        print("baseline", base, flush=True)
        runs = []
        for f in fractions:
            for i in range(args.repeat):
                time.sleep(1)
                r = bgsave_with_writes(srv, args.keys, args.size, f, 0.7 * duration, rng)
                print(f, i, {k: r[k] for k in ("fraction_written", "writer_seconds", "rdb_last_cow_size",
                                               "cow_share_of_rss", "cow_log", "child_wall_s_log",
                                               "rdb_bytes")}, flush=True)
                runs.append(r)
    by_fraction = {}
    for f in fractions:
        rs = [r for r in runs if r["target_fraction"] == f]
        by_fraction[str(f)] = {k: common.summary([r[k] for r in rs]) for k in
                               ("fraction_written", "rdb_last_cow_size", "cow_share_of_rss",
                                "cow_bytes_per_write", "child_wall_s_log", "rdb_last_bgsave_time_sec",
                                "rdb_bytes", "used_memory_rss_before")}
        by_fraction[str(f)]["cow_log_peak_mb"] = common.summary(
            [r["cow_log"]["peak_mb"] if r["cow_log"] else None for r in rs])
    name = "cow_share_%dx%d%s" % (args.size, args.keys, "_delay%d" % args.key_save_delay
                                  if args.key_save_delay else "")
    common.save_result(name, {"keys": args.keys, "value_bytes": args.size,
                              "key_save_delay_us": args.key_save_delay, "baseline": base,
                              "pace_seconds": 0.7 * duration, "runs": runs, "by_fraction": by_fraction,
                              "machine": common.machine_note()})


if __name__ == "__main__":
    main()
