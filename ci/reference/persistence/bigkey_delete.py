#!/usr/bin/env python3
"""Measurement 4: the main-thread cost of deleting one big key with DEL and with UNLINK.

For each type (set via SADD, hash via HSET, list via RPUSH) a key with
`--elements` elements ("m:<i>" members/fields, 8-byte-ish values) is built in
pipelined batches of 1000 elements per command, then deleted. Recorded:
the client's round-trip time of the DEL/UNLINK (one command alone on the
connection, loopback), INFO commandstats usec of that command (CONFIG
RESETSTAT first, so it is this one call), used_memory before and after
(UNLINK frees in a background thread: after is read once lazyfree_pending_objects
is 0), the encoding, and from /proc/<pid>/task/*/schedstat the main
thread's CPU ns and run-queue wait ns over the command (the machine is shared,
so cmdstat usec, a wall-clock figure, includes time the thread was runnable
but not running), and the other threads' (lazyfree bio) CPU until the
free is done. Repeated --repeat times, each on a freshly built key.

Usage:
  python3 bigkey_delete.py --elements 1000000 --repeat 3
"""

import argparse
import time

import common


def build(conn, kind, key, n, batch=1000):
    i = 0
    while i < n:
        m = min(batch, n - i)
        if kind == "set":
            args = ["SADD", key] + ["m:%d" % (i + j) for j in range(m)]
        elif kind == "hash":
            args = ["HSET", key]
            for j in range(m):
                args += ["f:%d" % (i + j), "v:%d" % (i + j)]
        else:
            args = ["RPUSH", key] + ["m:%d" % (i + j) for j in range(m)]
        conn.pipeline(common.encode(*args), 1)
        i += m


def cmdstat(info, cmd):
    line = info.get("cmdstat_" + cmd)
    if not line:
        return None
    d = dict(kv.split("=") for kv in line.split(","))
    return {"calls": int(d["calls"]), "usec": int(d["usec"])}


def one(srv, kind, cmd, n):
    c = srv.conn
    key = "big:%s" % kind
    build(c, kind, key, n)
    enc = c.call("OBJECT", "ENCODING", key).decode()
    mem_before = int(c.info("memory")["used_memory"])
    c.call("CONFIG", "RESETSTAT")
    pid = srv.proc.pid
    main0, all0 = common.schedstat(pid, pid), common.schedstat(pid)
    t0 = time.perf_counter()
    reply = c.call(cmd, key)
    rtt = time.perf_counter() - t0
    main1 = common.schedstat(pid, pid)
    assert reply == 1, reply
    st = cmdstat(c.info("commandstats"), cmd.lower())
    t1 = time.time()
    while int(c.info("memory").get("lazyfree_pending_objects", "0")) > 0:
        time.sleep(0.001)
    lazy_wait = time.time() - t1
    mem_after = int(c.info("memory")["used_memory"])
    all1 = common.schedstat(pid)
    main_cpu_ms = (main1[0] - main0[0]) / 1e6
    other_cpu_ms = ((all1[0] - all0[0]) - (common.schedstat(pid, pid)[0] - main0[0])) / 1e6
    return {"kind": kind, "cmd": cmd, "elements": n, "encoding": enc, "client_rtt_ms": rtt * 1000,
            "cmdstat_usec": st["usec"] if st else None, "freed_bytes": mem_before - mem_after,
            "used_memory_before": mem_before, "lazyfree_wait_s": lazy_wait,
            "ns_per_element_cmdstat": st["usec"] * 1000 / n if st else None,
            "main_thread_cpu_ms": main_cpu_ms, "main_thread_runqueue_wait_ms": (main1[1] - main0[1]) / 1e6,
            "main_thread_cpu_ns_per_element": main_cpu_ms * 1e6 / n,
            "bio_threads_cpu_ms": other_cpu_ms}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--elements", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--port", type=int, default=23120)
    args = ap.parse_args()
    runs = []
    with common.Server(args.port, [], name="bigdel") as srv:
        for kind in ("set", "hash", "list"):
            for cmd in ("DEL", "UNLINK"):
                for i in range(args.repeat):
                    r = one(srv, kind, cmd, args.elements)
                    print(r, flush=True)
                    runs.append(r)
    table = {}
    for kind in ("set", "hash", "list"):
        for cmd in ("DEL", "UNLINK"):
            rs = [r for r in runs if r["kind"] == kind and r["cmd"] == cmd]
            table["%s %s" % (cmd, kind)] = {
                "encoding": rs[0]["encoding"],
                "client_rtt_ms": common.summary([r["client_rtt_ms"] for r in rs]),
                "cmdstat_usec": common.summary([r["cmdstat_usec"] for r in rs]),
                "ns_per_element_cmdstat": common.summary([r["ns_per_element_cmdstat"] for r in rs]),
                "freed_bytes": common.summary([r["freed_bytes"] for r in rs]),
                "lazyfree_wait_s": common.summary([r["lazyfree_wait_s"] for r in rs]),
                "main_thread_cpu_ms": common.summary([r["main_thread_cpu_ms"] for r in rs]),
                "main_thread_cpu_ns_per_element": common.summary([r["main_thread_cpu_ns_per_element"] for r in rs]),
                "main_thread_runqueue_wait_ms": common.summary([r["main_thread_runqueue_wait_ms"] for r in rs]),
                "bio_threads_cpu_ms": common.summary([r["bio_threads_cpu_ms"] for r in rs]),
            }
    common.save_result("bigkey_delete", {"elements": args.elements, "runs": runs, "table": table,
                                         "machine": common.machine_note()})


if __name__ == "__main__":
    main()
