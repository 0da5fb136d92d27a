#!/usr/bin/env python3
"""Reference runs of redsim's Sentinel scenarios on real processes.

Plays a scenario file's nodes with real redis-server and redis-sentinel
7.0.15 processes on loopback (every node on 127.0.0.1 with its own port),
its fault timeline with signals (pause = SIGSTOP, resume = SIGCONT, crash
and a machine's kill = SIGKILL, restart = start the same config again, so a
sentinel reads back the sentinel.conf it rewrote), and collects the
Sentinel events from the sentinels' logs, with times relative to the
scenario's time 0. Addresses in event details are mapped back to node
names ("127.0.0.1 7701" -> "m1 6379"), so they read like redsim's events
with node names for addresses.

With --runs N it repeats the run and prints, per event, the first time it
was seen in each run (min / median / max), and which replica won.
Faults that real processes on one box cannot play (clock-jump, partition,
link, disk, memory-pressure) are reported as skipped, never faked.

Standard library only. Usage:
    python3 ci/reference/sentinel/run_sentinel.py scenarios/specs/sentinel-failover.toml --runs 5
"""

import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from datetime import datetime, timezone

REDIS_BASE_PORT = 7700
SENTINEL_BASE_PORT = 27700
LOG_LINE = re.compile(r"^(\d+):([XMSC]) (\d\d \w\w\w \d{4} \d\d:\d\d:\d\d\.\d{3}) (.) (.*)$")


def load_spec(path):
    with open(path, "rb") as f:
        return tomllib.load(f)


class Node:
    def __init__(self, index, spec):
        self.name = spec["name"]
        self.kind = spec.get("kind", "redis")
        self.machine = spec.get("machine", self.name)
        self.lines = list(spec.get("config", []))
        base = SENTINEL_BASE_PORT if self.kind == "sentinel" else REDIS_BASE_PORT
        self.port = base + index
        default_port = 26379 if self.kind == "sentinel" else 6379
        self.spec_port = default_port
        for line in self.lines:
            words = line.split()
            if len(words) == 2 and words[0] == "port":
                self.spec_port = int(words[1])
        self.proc = None
        self.conf = None
        self.log = None


def rewrite_line(line, by_name):
    """A config line with node names (and their spec ports) made loopback addresses."""
    words = line.split()
    if not words or words[0] == "port":
        return None
    if words[0] in ("replicaof", "slaveof") and words[1] in by_name:
        return "%s 127.0.0.1 %d" % (words[0], by_name[words[1]].port)
    if words[:2] == ["sentinel", "monitor"] and words[3] in by_name:
        words[4] = str(by_name[words[3]].port)
        words[3] = "127.0.0.1"
        return " ".join(words)
    if words[:2] == ["sentinel", "resolve-hostnames"]:
        return None
    return line


def write_config(node, by_name, workdir):
    lines = ["port %d" % node.port, "bind 127.0.0.1", "dir %s" % workdir, "logfile %s" % node.log,
             "loglevel notice"]
    if node.kind == "redis":
        lines += ["save \"\"", "appendonly no"]
    for raw in node.lines:
        out = rewrite_line(raw, by_name)
        if out is not None:
            lines.append(out)
    with open(node.conf, "w") as f:
        f.write("\n".join(lines) + "\n")


def start(node):
    binary = "redis-sentinel" if node.kind == "sentinel" else "redis-server"
    node.proc = subprocess.Popen([binary, node.conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_port(port, timeout_s=5.0):
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("port %d never opened" % port)


def signal_node(node, sig):
    if node.proc is not None and node.proc.poll() is None:
        node.proc.send_signal(sig)


def play_step(step, nodes, by_name, skipped):
    fault = step.get("fault")
    targets = []
    if "node" in step:
        targets = [by_name[step["node"]]]
    if fault in ("kill", "restart") and "machine" in step:
        targets = [n for n in nodes if n.machine == step["machine"]]
    elif fault in ("kill", "restart") and "node" in step:
        machine = by_name[step["node"]].machine
        targets = [n for n in nodes if n.machine == machine]
    if fault == "pause":
        for n in targets:
            signal_node(n, signal.SIGSTOP)
    elif fault == "resume":
        for n in targets:
            signal_node(n, signal.SIGCONT)
    elif fault in ("crash", "kill"):
        for n in targets:
            signal_node(n, signal.SIGCONT)
            signal_node(n, signal.SIGKILL)
            n.proc.wait()
    elif fault == "restart":
        for n in targets:
            if n.proc is None or n.proc.poll() is not None:
                start(n)
    elif "command" in step:
        node = by_name[step["node"]]
        with socket.create_connection(("127.0.0.1", node.port), timeout=2) as s:
            s.sendall((step["command"] + "\r\n").encode())
            s.recv(65536)
    else:
        skipped.append(fault)


def parse_events(node, t0, nodes):
    """Sentinel events from a log: (t_ms, node, event, detail)."""
    out = []
    if not os.path.exists(node.log):
        return out
    with open(node.log, errors="replace") as f:
        for line in f:
            m = LOG_LINE.match(line.rstrip("\n"))
            if not m or m.group(2) != "X":
                continue
            text = m.group(5)
            word = text.split(" ", 1)[0]
            if not word or word[0] not in "+-":
                continue
            stamp = datetime.strptime(m.group(3), "%d %b %Y %H:%M:%S.%f").replace(tzinfo=timezone.utc)
            t_ms = round(stamp.timestamp() * 1000 - t0 * 1000)
            detail = text[len(word):].strip()
            out.append({"t_ms": t_ms, "node": node.name, "event": word, "detail": names_for_addresses(detail, nodes)})
    return out


def names_for_addresses(detail, nodes):
    for n in nodes:
        detail = detail.replace("127.0.0.1:%d" % n.port, "%s:%d" % (n.name, n.spec_port))
        detail = detail.replace("127.0.0.1 %d" % n.port, "%s %d" % (n.name, n.spec_port))
    return detail


def run_once(spec, keep_dir=None):
    nodes = [Node(i + 1, n) for i, n in enumerate(spec["node"])]
    by_name = {n.name: n for n in nodes}
    workdir = keep_dir or tempfile.mkdtemp(prefix="redsim-sentinel-ref-")
    for n in nodes:
        ndir = os.path.join(workdir, n.name)
        os.makedirs(ndir, exist_ok=True)
        n.conf = os.path.join(ndir, "sentinel.conf" if n.kind == "sentinel" else "redis.conf")
        n.log = os.path.join(ndir, "log.txt")
        write_config(n, by_name, ndir)
    skipped = []
    try:
        for n in nodes:
            if n.kind == "redis":
                start(n)
        for n in nodes:
            if n.kind == "redis":
                wait_port(n.port)
        # Scenario time 0 at a whole wall-clock second, like the other reference runs.
        t0 = float(int(time.time()) + 1)
        time.sleep(max(0.0, t0 - time.time()))
        for n in nodes:
            if n.kind == "sentinel":
                start(n)
        steps = sorted(spec.get("step", []), key=lambda s: s["at_ms"])
        for step in steps:
            time.sleep(max(0.0, t0 + step["at_ms"] / 1000.0 - time.time()))
            play_step(step, nodes, by_name, skipped)
        time.sleep(max(0.0, t0 + spec.get("duration_ms", 60_000) / 1000.0 - time.time()))
        roles = {}
        for n in nodes:
            if n.kind == "redis" and n.proc.poll() is None:
                signal_node(n, signal.SIGCONT)
                roles[n.name] = role_of(n)
        events = []
        for n in nodes:
            events += parse_events(n, t0, nodes)
        events.sort(key=lambda e: (e["t_ms"], e["node"]))
        return {"events": events, "roles": roles, "skipped_faults": skipped, "dir": workdir}
    finally:
        for n in nodes:
            signal_node(n, signal.SIGCONT)
            signal_node(n, signal.SIGKILL)
            if n.proc is not None:
                n.proc.wait()


def role_of(node):
    with socket.create_connection(("127.0.0.1", node.port), timeout=2) as s:
        s.sendall(b"ROLE\r\n")
        time.sleep(0.1)
        data = s.recv(65536).decode(errors="replace")
    return "master" if "master" in data.split("\r\n")[2] else "slave"


def summarise(runs):
    firsts = {}
    for r in runs:
        seen = {}
        for e in r["events"]:
            seen.setdefault(e["event"], e["t_ms"])
        for ev, t in seen.items():
            firsts.setdefault(ev, []).append(t)
    rows = []
    for ev, ts in sorted(firsts.items(), key=lambda kv: statistics.median(kv[1])):
        rows.append({"event": ev, "runs": len(ts), "min_ms": min(ts), "median_ms": statistics.median(ts), "max_ms": max(ts)})
    winners = [sorted(n for n, role in r["roles"].items() if role == "master") for r in runs]
    return {"first_ms": rows, "masters_at_end": winners}


def main():
    global REDIS_BASE_PORT, SENTINEL_BASE_PORT
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("scenario")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--json-out")
    ap.add_argument("--redis-base-port", type=int, default=REDIS_BASE_PORT,
                    help="redis-server i listens on this + i (pick a free range on a shared box)")
    ap.add_argument("--sentinel-base-port", type=int, default=SENTINEL_BASE_PORT)
    args = ap.parse_args()
    REDIS_BASE_PORT, SENTINEL_BASE_PORT = args.redis_base_port, args.sentinel_base_port
    spec = load_spec(args.scenario)
    runs = []
    for i in range(args.runs):
        r = run_once(spec)
        runs.append(r)
        print("run %d: masters at end %s, %d events" % (i + 1, [n for n, ro in r["roles"].items() if ro == "master"], len(r["events"])), file=sys.stderr)
    out = {"scenario": os.path.basename(args.scenario), "runs": runs, "summary": summarise(runs)}
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(out, f, indent=1)
    for row in out["summary"]["first_ms"]:
        print("%-36s runs=%d  min=%6d  median=%8.1f  max=%6d" % (row["event"], row["runs"], row["min_ms"], row["median_ms"], row["max_ms"]))
    print("masters at end:", out["summary"]["masters_at_end"])


if __name__ == "__main__":
    main()
