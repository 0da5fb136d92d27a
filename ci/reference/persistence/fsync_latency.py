#!/usr/bin/env python3
"""Measurement 5: this machine's fsync latency, and SET throughput/latency under each appendfsync.

Part A: in a temp dir on the same filesystem as the servers' dirs (/tmp),
append 4 KB to a file and call os.fsync (then, separately, os.fdatasync,
which is what Redis's redis_fsync is on Linux) `--runs` times; median, p99,
max per round, --repeat rounds.

Part A2: sequential write bandwidth, --seq-mb MB in 4 MB writes with
fdatasync after each (what a BGSAVE child with rdb-save-incremental-fsync does).

Part B: redis-server with appendonly no, appendonly yes + appendfsync
everysec, appendonly yes + appendfsync always; for each,
`redis-benchmark -p PORT -t set -n 100000 --csv` (50 clients, 3-byte values,
the defaults), --repeat times; rps and p50/p99 latency.

Usage:
  python3 fsync_latency.py --runs 200 --repeat 3
"""

import argparse
import csv
import io
import os
import shutil
import subprocess
import tempfile
import time

import common


def fsync_round(path, runs, fn):
    lat = []
    block = os.urandom(4096)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        for _ in range(runs):
            os.write(fd, block)
            t0 = time.perf_counter()
            fn(fd)
            lat.append((time.perf_counter() - t0) * 1e6)
    finally:
        os.close(fd)
    return {"median_us": common.percentile(lat, 50), "p99_us": common.percentile(lat, 99),
            "max_us": max(lat), "min_us": min(lat)}


def part_a(runs, repeat):
    d = tempfile.mkdtemp(prefix="redsim-calib-fsync-", dir="/tmp")
    out = {}
    try:
        for name, fn in (("fsync", os.fsync), ("fdatasync", os.fdatasync)):
            rounds = []
            for i in range(repeat):
                p = os.path.join(d, "f%s%d" % (name, i))
                rounds.append(fsync_round(p, runs, fn))
                os.unlink(p)
                print(name, rounds[-1], flush=True)
            out[name] = {"rounds": rounds,
                         "median_us": common.summary([r["median_us"] for r in rounds]),
                         "p99_us": common.summary([r["p99_us"] for r in rounds])}
    finally:
        shutil.rmtree(d, ignore_errors=True)
    return out


def seq_write(total_mb, repeat):
    """Sequential write bandwidth as a BGSAVE child sees it: 4 MB writes, fsync after each (rdb-save-incremental-fsync)."""
    d = tempfile.mkdtemp(prefix="redsim-calib-seq-", dir="/tmp")
    chunk = os.urandom(4 << 20)
    rounds = []
    try:
        for i in range(repeat):
            p = os.path.join(d, "seq%d" % i)
            fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            t0 = time.perf_counter()
            for _ in range(total_mb // 4):
                os.write(fd, chunk)
                os.fdatasync(fd)
            dt = time.perf_counter() - t0
            os.close(fd)
            os.unlink(p)
            rounds.append(total_mb / dt)
            print("seq_write MB/s", rounds[-1], flush=True)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    return {"total_mb": total_mb, "rounds_MBps": rounds, "MBps": common.summary(rounds)}


def bench(port, n):
    cmd = ["redis-benchmark", "-p", str(port), "-t", "set", "-n", str(n), "--csv"]
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    rows = list(csv.reader(io.StringIO(res.stdout)))
    hdr, row = rows[0], rows[1]
    d = dict(zip(hdr, row))
    return {"cmd": " ".join(cmd), "rps": float(d["rps"]), "p50_ms": float(d["p50_latency_ms"]),
            "p99_ms": float(d["p99_latency_ms"]), "avg_ms": float(d["avg_latency_ms"]),
            "max_ms": float(d["max_latency_ms"])}


def part_b(port, n, repeat):
    modes = {
        "appendonly no": ["--appendonly", "no"],
        "appendfsync everysec": ["--appendonly", "yes", "--appendfsync", "everysec"],
        "appendfsync always": ["--appendonly", "yes", "--appendfsync", "always"],
    }
    out = {}
    for name, cfg in modes.items():
        runs = []
        for i in range(repeat):
            with common.Server(port, cfg, name="aofbench") as srv:
                r = bench(port, n)
                info = srv.conn.info("persistence")
                r["aof_delayed_fsync"] = int(info.get("aof_delayed_fsync", 0))
                runs.append(r)
                print(name, r, flush=True)
        out[name] = {"runs": runs, **{k: common.summary([r[k] for r in runs])
                                      for k in ("rps", "p50_ms", "p99_ms", "avg_ms", "max_ms")}}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--requests", type=int, default=100000)
    ap.add_argument("--port", type=int, default=23130)
    ap.add_argument("--seq-mb", type=int, default=256)
    args = ap.parse_args()
    a = part_a(args.runs, args.repeat)
    a["seq_write_4MB_fdatasync"] = seq_write(args.seq_mb, args.repeat)
    b = part_b(args.port, args.requests, args.repeat)
    common.save_result("fsync_latency", {"disk": a, "redis_benchmark": b, "machine": common.machine_note()})


if __name__ == "__main__":
    main()
