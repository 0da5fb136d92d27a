#!/usr/bin/env python3
"""Prints the markdown tables of RESULTS.md from results/*.json (median [min-max] of the runs)."""

import glob
import json
import os

import common

MB = 2**20
GB = 2**30


def load(name):
    p = os.path.join(common.RESULTS_DIR, name + ".json")
    if not os.path.exists(p):
        return None
    with open(p) as f:
        return json.load(f)


def fmt(s, scale=1.0, nd=1):
    if not s or s.get("median") is None:
        return "n/a"
    f = "%%.%df" % nd
    return "%s [%s-%s]" % (f % (s["median"] * scale), f % (s["min"] * scale), f % (s["max"] * scale))


def fork_tables():
    print("| dataset | keys | value | used_memory | RSS | latest_fork_usec (ms) | fork ms per GB RSS | load avg at end |")
    print("|---|---|---|---|---|---|---|---|")
    rows = []
    for name in ("pop1000x1M", "pop1000x4M", "pop100x5M", "pop100x20M", "rand1000x1M", "rand100x5M",
                 "pop1000x1M_nocompress", "pop100x5M_nocompress", "rand1000x1M_nocompress",
                 "rand100x5M_nocompress"):
        d = load("fork_bgsave_" + name)
        if not d:
            continue
        rows.append((name, d))
        print("| %s | %d | %d B %s | %.2f GB | %.2f GB | %s | %s | %s |" % (
            name, d["dbsize"], d["value_bytes"], "random" if d["random_values"] else "zero-padded",
            d["used_memory"]["median"] / GB, d["used_memory_rss"]["median"] / GB,
            fmt(d["latest_fork_usec"], 1e-3), fmt(d["fork_ms_per_gb_rss"]), " ".join(d["machine"]["loadavg"])))
    print()
    print("| dataset | child wall s (log) | child CPU s | RDB size | used_memory MB/s (wall) | RDB MB/s (wall) |"
          " child CPU ns/byte of used_memory | child CPU ns/key | child wall ns/key |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, d in rows:
        print("| %s | %s | %s | %.0f MB | %s | %s | %s | %s | %s |" % (
            name, fmt(d["child_wall_s_log"], 1, 2), fmt(d["child_cpu_s"], 1, 2), d["rdb_bytes"]["median"] / MB,
            fmt(d["used_memory_bytes_per_s"], 1 / MB, 0), fmt(d["rdb_bytes_per_s"], 1 / MB, 0),
            fmt(d["child_cpu_ns_per_used_byte"], 1, 2), fmt(d["child_cpu_ns_per_key"], 1, 0),
            fmt(d["child_wall_ns_per_key"], 1, 0)))
    print()


def fork_only_table():
    print("| dataset | RSS | forks | latest_fork_usec ms | fork ms per GB RSS | main-thread CPU ms per GB over the BGSAVE call |"
          " load avg at end |")
    print("|---|---|---|---|---|---|---|")
    for name in ("pop1000x1M", "pop1000x4M", "pop100x5M", "pop100x20M"):
        d = load("fork_only_" + name)
        if not d:
            continue
        print("| %s | %.2f GB | %d | %s | %s | %s | %s |" % (
            name, d["used_memory_rss"] / GB, len(d["fork_usec"]), fmt(d["fork_usec_summary"], 1e-3),
            fmt(d["fork_ms_per_gb_rss"]), fmt(d.get("main_thread_cpu_ms_per_gb_rss")),
            " ".join(d["machine"]["loadavg"])))
    print()


def cow_tables():
    for p in sorted(glob.glob(os.path.join(common.RESULTS_DIR, "cow_share_*.json"))):
        d = load(os.path.basename(p)[:-5])
        b = d["baseline"]
        print("%s: %d keys x %d B random values, rdbcompression yes, rdb-key-save-delay %d us; baseline save"
              " (no writes) %.2f s, RSS %.2f GB, RDB %.0f MB; writes paced over %.2f s.\n" % (
                  os.path.basename(p), d["keys"], d["value_bytes"], d["key_save_delay_us"],
                  b["child_wall_s_log"], b["used_memory_rss_before"] / GB, b["rdb_bytes"] / MB, d["pace_seconds"]))
        print("| target share of keys overwritten | achieved (during save) | rdb_last_cow_size MB | COW / RSS |"
              " log peak MB | COW bytes per overwritten key | child wall s (log) | rdb_last_bgsave_time_sec | RDB MB |")
        print("|---|---|---|---|---|---|---|---|---|")
        for f, s in d["by_fraction"].items():
            print("| %.0f%% | %s%% | %s | %s%% | %s | %s | %s | %s | %s |" % (
                float(f) * 100, fmt(s["fraction_written"], 100, 2), fmt(s["rdb_last_cow_size"], 1 / MB, 0),
                fmt(s["cow_share_of_rss"], 100, 1), fmt(s["cow_log_peak_mb"], 1, 0),
                fmt(s["cow_bytes_per_write"], 1, 0), fmt(s["child_wall_s_log"], 1, 2),
                fmt(s["rdb_last_bgsave_time_sec"], 1, 0), fmt(s["rdb_bytes"], 1 / MB, 0)))
        print()


def bigkey_table():
    d = load("bigkey_delete")
    if not d:
        return
    print("| command | encoding | client round trip ms | cmdstat usec | main-thread CPU ms | main-thread run-queue"
          " wait ms | main-thread CPU ns per element | freed MB | lazyfree done after s | bio thread CPU ms |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for k, s in d["table"].items():
        print("| %s (%d elements) | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            k, d["elements"], s["encoding"], fmt(s["client_rtt_ms"], 1, 2), fmt(s["cmdstat_usec"], 1, 0),
            fmt(s.get("main_thread_cpu_ms"), 1, 2), fmt(s.get("main_thread_runqueue_wait_ms"), 1, 2),
            fmt(s.get("main_thread_cpu_ns_per_element"), 1, 1), fmt(s["freed_bytes"], 1 / MB, 0),
            fmt(s["lazyfree_wait_s"], 1, 3), fmt(s.get("bio_threads_cpu_ms"), 1, 0)))
    print()


def fsync_tables():
    d = load("fsync_latency")
    if not d:
        return
    print("| call (after a 4 KB append, 200 per round) | median us | p99 us |")
    print("|---|---|---|")
    for k, s in d["disk"].items():
        if "median_us" in s:
            print("| %s | %s | %s |" % (k, fmt(s["median_us"], 1, 0), fmt(s["p99_us"], 1, 0)))
    print()
    sq = d["disk"].get("seq_write_4MB_fdatasync")
    if sq:
        print("Sequential write, %d MB in 4 MB writes each followed by fdatasync: %s MB/s.\n"
              % (sq["total_mb"], fmt(sq["MBps"], 1, 0)))
    print("| server config | SET requests/s | p50 ms | p99 ms | max ms |")
    print("|---|---|---|---|---|")
    for k, s in d["redis_benchmark"].items():
        print("| %s | %s | %s | %s | %s |" % (k, fmt(s["rps"], 1, 0), fmt(s["p50_ms"], 1, 3),
                                            fmt(s["p99_ms"], 1, 3), fmt(s["max_ms"], 1, 2)))
    print()


def aof_table():
    for p in sorted(glob.glob(os.path.join(common.RESULTS_DIR, "aof_rewrite_*.json"))):
        d = load(os.path.basename(p)[:-5])
        print("| %s | median [min-max] |" % os.path.basename(p))
        print("|---|---|")
        print("| RSS | %.2f GB |" % (d["used_memory_rss"]["median"] / GB))
        for k, label, scale, nd in (("latest_fork_usec", "fork ms", 1e-3, 1),
                                    ("fork_ms_per_gb_rss", "fork ms per GB RSS", 1, 1),
                                    ("child_wall_s_log", "child wall s (log: started -> base file created)", 1, 2),
                                    ("rewrite_wall_s_log", "whole rewrite s (log: started -> finished)", 1, 2),
                                    ("aof_last_rewrite_time_sec", "aof_last_rewrite_time_sec", 1, 0),
                                    ("child_cpu_s", "child CPU s", 1, 2),
                                    ("aof_last_cow_size", "aof_last_cow_size MB", 1 / MB, 1),
                                    ("base_bytes", "base .rdb file MB", 1 / MB, 0)):
            print("| %s | %s |" % (label, fmt(d[k], scale, nd)))
        print()


if __name__ == "__main__":
    fork_tables()
    fork_only_table()
    cow_tables()
    bigkey_table()
    fsync_tables()
    aof_table()
