#!/usr/bin/env python3
"""Reference runs of redsim's built-in replication scenarios against real Redis.

Starts a real redis-server master and replica on loopback, plays the
scenario's open-loop SET workload and its fault timeline in real time, and
prints a JSON summary whose field names follow redsim's report (history.*,
nodes.m1.info.*, nodes.r1.info.*). With --compare it also runs
`redsim run <scenario> --seed N --json` for seeds 1..3 and prints a side by
side table and the speed ratio (real wall seconds / redsim wall seconds).

Standard library only: raw sockets speak RESP, one thread drives every
workload client through a selector, so no GIL hand-offs skew the timings.

Usage:
    python3 ci/reference/run_reference.py min-replicas-to-write [--compare]
    python3 ci/reference/run_reference.py backlog-overflow --compare --seeds 1..3
"""

import argparse
import json
import os
import random
import re
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SPECS = os.path.join(ROOT, "scenarios", "specs")


# ---- RESP ----

def encode(*args):
    """A RESP array of bulk strings, the way every client sends commands."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def parse_reply(buf, pos=0):
    """Parses one reply at buf[pos:]; returns (value, new_pos) or None if incomplete.

    Errors come back as ("ERR", text) tuples so callers can tell them apart."""
    end = buf.find(b"\r\n", pos)
    if end < 0:
        return None
    kind, line = buf[pos:pos + 1], buf[pos + 1:end]
    nxt = end + 2
    if kind == b"+":
        return line.decode(), nxt
    if kind == b"-":
        return ("ERR", line.decode()), nxt
    if kind == b":":
        return int(line), nxt
    if kind == b"$":
        n = int(line)
        if n < 0:
            return None, nxt
        if len(buf) < nxt + n + 2:
            return None
        return buf[nxt:nxt + n], nxt + n + 2
    if kind == b"*":
        n = int(line)
        items = []
        for _ in range(max(n, 0)):
            r = parse_reply(buf, nxt)
            if r is None:
                return None
            item, nxt = r
            items.append(item)
        return (items if n >= 0 else None), nxt
    raise ValueError("bad RESP type byte %r" % kind)


def command(port, *args, timeout=5.0):
    """One blocking request/reply on a fresh connection (admin commands, INFO)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(encode(*args))
        buf = b""
        while True:
            r = parse_reply(buf)
            if r is not None:
                return r[0]
            chunk = s.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed by port %d" % port)
            buf += chunk


def info(port):
    """INFO as a dict with numbers converted, like redsim's report."""
    text = command(port, "INFO", "everything").decode()
    out = {}
    for line in text.split("\r\n"):
        if not line or line.startswith("#") or ":" not in line:
            continue
        k, v = line.split(":", 1)
        try:
            out[k] = int(v)
        except ValueError:
            try:
                out[k] = float(v)
            except ValueError:
                out[k] = v
    return out


# ---- the scenario ----

def load_spec(name):
    path = name if name.endswith(".toml") else os.path.join(SPECS, name + ".toml")
    with open(path, "rb") as f:
        spec = tomllib.load(f)
    spec["_name"] = os.path.splitext(os.path.basename(path))[0]
    return spec


def timeline(spec, ports):
    """The scenario's steps as (t_s, description, action) on real processes.

    A partition that cuts replicas off from the master becomes a SIGSTOP of
    those replicas and its heal a SIGCONT; see `emulate_partition`."""
    steps = []
    isolated = []
    for st in spec.get("step", []):
        t = st["at_ms"] / 1000.0
        fault = st.get("fault")
        if fault == "pause":
            steps.append((t, "SIGSTOP " + st["node"], ("signal", st["node"], signal.SIGSTOP)))
        elif fault == "resume":
            steps.append((t, "SIGCONT " + st["node"], ("signal", st["node"], signal.SIGCONT)))
        elif fault == "partition":
            isolated = emulate_partition(st["groups"], spec)
            for n in isolated:
                steps.append((t, "partition -> SIGSTOP " + n, ("signal", n, signal.SIGSTOP)))
        elif fault == "heal":
            for n in isolated:
                steps.append((t, "heal -> SIGCONT " + n, ("signal", n, signal.SIGCONT)))
            isolated = []
        elif "command" in st:
            steps.append((t, "%s: %s" % (st["node"], st["command"]), ("command", st["node"], st["command"])))
        else:
            raise SystemExit("step %r has no loopback equivalent in this script" % st)
    # Stable sort: steps at the same time keep the file's order, as redsim runs them.
    steps.sort(key=lambda s: s[0])
    return steps


def emulate_partition(groups, spec):
    """Which nodes to SIGSTOP for a partition: every node outside the workload target's group.

    Why this is equivalent for these scenarios: during the partition the
    replica exchanges nothing with the master. The master's CLIENT KILL closes
    the link at once on its side in both cases; the replica learns of it only
    when it can read the FIN, which the partition holds until the heal and a
    SIGSTOP holds until SIGCONT (the kernel queues the FIN in the stopped
    process's socket). The replica's reconnect and PSYNC therefore both start
    at the heal/SIGCONT, with the offset it had when the outage began, and the
    master's backlog has moved on by the same amount of stream. Nothing else
    the replica does while cut off (its 1 Hz REPLCONF ACKs, repl-timeout
    checks: 60 s > 12 s) reaches the master either way."""
    target = spec["workload"][0]["target"]
    keep = next(g for g in groups if target in g)
    return [n for g in groups for n in g if n not in keep]


# ---- processes ----

class Cluster:
    def __init__(self, spec, port_base, workdir):
        self.dir = workdir
        self.ports = {}
        self.procs = {}
        self.order = [n["name"] for n in spec["node"]]
        for i, n in enumerate(spec["node"]):
            self.ports[n["name"]] = port_base + i
        self.spec = spec

    def config_lines(self, node):
        out = []
        for line in node.get("config", []):
            words = line.split()
            if words[0].lower() in ("replicaof", "slaveof"):
                # "replicaof m1 6379" names a simulated host; on loopback it is m1's port.
                line = "replicaof 127.0.0.1 %d" % self.ports[words[1]]
            out.append(line)
        return out

    def start(self):
        """Starts the nodes in file order (the master first), each once it can listen."""
        for n in self.spec["node"]:
            name = n["name"]
            d = os.path.join(self.dir, name)
            os.makedirs(d)
            conf = ["port %d" % self.ports[name], "bind 127.0.0.1", 'save ""', "appendonly no",
                    "dir " + d, "logfile " + os.path.join(d, "redis.log"), "daemonize no"]
            conf += self.config_lines(n)
            path = os.path.join(d, "redis.conf")
            with open(path, "w") as f:
                f.write("\n".join(conf) + "\n")
            self.procs[name] = subprocess.Popen(["redis-server", path], stdout=subprocess.DEVNULL,
                                                stderr=subprocess.DEVNULL)

    def wait_ready(self, deadline_s=5.0):
        end = time.time() + deadline_s
        for name, port in self.ports.items():
            while True:
                try:
                    if command(port, "PING", timeout=0.2) == "PONG":
                        break
                except OSError:
                    pass
                if time.time() > end:
                    raise SystemExit("redis-server %s on port %d did not start" % (name, port))
                time.sleep(0.01)

    def signal(self, name, sig):
        self.procs[name].send_signal(sig)

    def stop(self):
        for name, p in self.procs.items():
            if p.poll() is None:
                p.send_signal(signal.SIGCONT)
                p.terminate()
        for p in self.procs.values():
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()


# ---- the workload ----

class Client:
    """One open-loop client: Poisson invocations, pipeline 1, a queue behind it.

    As in redsim (sim/src/client), an operation's invoke time is when it was
    generated, so waiting behind a slow reply counts in its latency."""

    def __init__(self, index, wl, rng, t_start):
        self.index = index
        self.wl = wl
        self.rng = rng
        self.mean_gap = wl["clients"] / float(wl["ops_per_second"])
        self.next_invoke = t_start + self.gap()
        self.queue = []       # op indexes generated, not yet sent
        self.qhead = 0
        self.outstanding = None
        self.buf = b""
        self.seq = 0
        self.sock = None

    def gap(self):
        return max(self.rng.expovariate(1.0 / self.mean_gap), 1e-6)

    def make_request(self):
        self.seq += 1
        key = "%s%d" % (self.wl.get("key_prefix", "key:"), self.rng.randrange(self.wl["keys"]))
        value = ("c%d:%d" % (self.index, self.seq)).ljust(self.wl["value_bytes"], "x")
        return encode("SET", key, value)


def run_workload(spec, ports, steps, t0, cluster):
    """Drives every client and the timeline from one loop until duration_ms.

    Returns the ops as [invoke_s, complete_s or None, outcome] and the times
    at which the steps actually fired."""
    duration = spec["duration_ms"] / 1000.0
    sel = selectors.DefaultSelector()
    ops = []
    requests = []
    clients = []
    gid = 0
    for w, wl in enumerate(spec.get("workload", [])):
        assert wl.get("kind", "mixed") == "set" and wl.get("write_ratio", 1.0) == 1.0, "SET-only workloads"
        assert wl.get("pipeline", 1) == 1, "pipeline 1 only"
        for i in range(wl["clients"]):
            c = Client(gid, wl, random.Random(1000 * w + i), wl.get("start_ms", 0) / 1000.0)
            c.start = wl.get("start_ms", 0) / 1000.0
            c.stop = wl.get("stop_ms", spec["duration_ms"]) / 1000.0
            c.port = ports[wl["target"]]
            clients.append(c)
            gid += 1
    fired = []
    step_i = 0

    def now():
        return time.time() - t0

    def send_next(c):
        if c.outstanding is None and c.qhead < len(c.queue):
            op = c.queue[c.qhead]
            c.qhead += 1
            c.outstanding = op
            c.sock.send(requests[op])
            requests[op] = None

    while True:
        t = now()
        if t >= duration:
            break
        while step_i < len(steps) and steps[step_i][0] <= t:
            at, desc, action = steps[step_i]
            if action[0] == "signal":
                cluster.signal(action[1], action[2])
                result = ""
            else:
                result = command(ports[action[1]], *action[2].split())
            fired.append({"t_ms": round(now() * 1000, 1), "step": desc, "scheduled_ms": at * 1000,
                          "reply": result if not isinstance(result, bytes) else result.decode()})
            step_i += 1
        wake = duration
        if step_i < len(steps):
            wake = min(wake, steps[step_i][0])
        for c in clients:
            if c.sock is None and t >= c.start:
                c.sock = socket.create_connection(("127.0.0.1", c.port))
                c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                c.sock.setblocking(False)
                sel.register(c.sock, selectors.EVENT_READ, c)
            if c.sock is None:
                wake = min(wake, c.start)
                continue
            while c.next_invoke <= t and c.next_invoke < c.stop:
                ops.append([c.next_invoke, None, "unknown"])
                requests.append(c.make_request())
                c.queue.append(len(ops) - 1)
                c.next_invoke += c.gap()
            if c.next_invoke < c.stop:
                wake = min(wake, c.next_invoke)
            send_next(c)
        timeout = max(0.0, wake - now())
        for key, _ in sel.select(timeout):
            c = key.data
            data = c.sock.recv(65536)
            done = now()
            if not data:
                raise SystemExit("workload connection closed by the server")
            c.buf += data
            pos = 0
            while True:
                r = parse_reply(c.buf, pos)
                if r is None:
                    break
                value, pos = r
                op = ops[c.outstanding]
                op[1] = done
                op[2] = value[1].split()[0] if isinstance(value, tuple) else "ok"
                c.outstanding = None
                send_next(c)
            c.buf = c.buf[pos:]
    for c in clients:
        if c.sock is not None:
            sel.unregister(c.sock)
            c.sock.close()
    return ops, fired


def percentile(sorted_vals, q):
    """The smallest value with at least q of the values at or below it (hdrhistogram's rule)."""
    if not sorted_vals:
        return 0.0
    k = max(0, min(len(sorted_vals) - 1, int(-(-q * len(sorted_vals) // 1)) - 1))
    return sorted_vals[k]


def summarize(ops):
    """redsim's HistorySummary: latency over Ok ops, fail times at completion, in ms."""
    h = {"ok": 0, "fail": 0, "unknown": 0, "errors": {}, "first_fail_ms": None, "last_fail_ms": None}
    lat = []
    for invoke, done, outcome in ops:
        if done is None or outcome == "unknown":
            h["unknown"] += 1
        elif outcome == "ok":
            h["ok"] += 1
            lat.append((done - invoke) * 1000.0)
        else:
            h["fail"] += 1
            h["errors"][outcome] = h["errors"].get(outcome, 0) + 1
            ms = int(done * 1000)
            h["first_fail_ms"] = ms if h["first_fail_ms"] is None else min(h["first_fail_ms"], ms)
            h["last_fail_ms"] = ms if h["last_fail_ms"] is None else max(h["last_fail_ms"], ms)
    lat.sort()
    h["latency_ms"] = {k: round(percentile(lat, q), 3) for k, q in
                       (("p50", 0.5), ("p99", 0.99), ("p999", 0.999), ("max", 1.0))}
    return h


# ---- Redis logs -> redsim-like events ----

# Redis log lines -> the names of redsim's events (engine/src/replication). A
# master that cannot PSYNC a replica goes on to a full sync at once, which is
# when redsim records "full_sync" (stat_sync_full++ in syncCommand), not when
# the diskless BGSAVE starts 5 s later ("rdb_transfer_start", Redis only).
LOG_EVENTS = [
    (r"Full resync requested by replica", ["full_sync"]),
    (r"Unable to partial resync with replica .* for lack of backlog", ["partial_sync_err", "full_sync"]),
    (r"Partial resynchronization request from .* accepted", ["partial_sync_ok"]),
    (r"Starting BGSAVE for SYNC with target: replicas sockets", ["rdb_transfer_start"]),
    (r"Synchronization with replica .* succeeded", ["replica_online"]),
    (r"Connection with replica .* lost", ["replica_lost"]),
    (r"Connection with master lost", ["master_link_down"]),
    (r"MASTER <-> REPLICA sync: Finished with success", ["master_link_up"]),
    (r"MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization", ["master_link_up"]),
]
LOG_LINE = re.compile(r"^\d+:[A-Z] (\d+ \w+ \d+ \d+:\d+:\d+)\.(\d+) [.\-*#] (.*)$")


def log_events(cluster, t0, end_ms):
    """The notable replication lines of both logs, stamped in ms since the scenario start.

    Lines after end_ms (the shutdown) are left out."""
    events = []
    for name in cluster.order:
        with open(os.path.join(cluster.dir, name, "redis.log")) as f:
            for line in f:
                m = LOG_LINE.match(line.strip())
                if not m:
                    continue
                stamp = time.mktime(time.strptime(m.group(1), "%d %b %Y %H:%M:%S")) + int(m.group(2)) / 1000.0
                t_ms = round((stamp - t0) * 1000)
                for pattern, names in LOG_EVENTS:
                    if t_ms <= end_ms and re.search(pattern, m.group(3)):
                        events += [{"t_ms": t_ms, "node": name, "event": e, "detail": m.group(3)} for e in names]
    events.sort(key=lambda e: e["t_ms"])
    return events


# ---- one real run ----

M1_FIELDS = ["sync_full", "sync_partial_ok", "sync_partial_err", "master_repl_offset",
             "connected_slaves", "min_slaves_good_slaves", "total_net_repl_output_bytes"]
R1_FIELDS = ["slave_repl_offset", "master_repl_offset", "master_link_status"]


def run_real(spec, port_base, phase_ms=0, keep_dir=False):
    workdir = tempfile.mkdtemp(prefix="redsim-ref-")
    cluster = Cluster(spec, port_base, workdir)
    steps = timeline(spec, cluster.ports)
    # Start at a chosen sub-second phase of the wall clock. redsim draws one
    # per seed (sim/src/clock.rs: every node's clock is 2024-01-01 plus a
    # seeded phase) and Redis counts replica lag and the diskless-sync delay
    # in whole unixtime seconds, so the phase is part of the experiment; the
    # one this run actually got is reported as t0_phase_ms.
    time.sleep((phase_ms / 1000.0 - time.time() % 1.0) % 1.0)
    t0 = time.time()
    wall0 = time.monotonic()
    try:
        cluster.start()
        cluster.wait_ready()
        ops, fired = run_workload(spec, cluster.ports, steps, t0, cluster)
        nodes = {}
        for name in cluster.order:
            i = info(cluster.ports[name])
            nodes[name] = {"role": i.get("role"), "info": i}
    finally:
        cluster.stop()
    wall = time.monotonic() - wall0
    events = log_events(cluster, t0, spec["duration_ms"])
    if not keep_dir:
        shutil.rmtree(workdir, ignore_errors=True)
    return {
        "scenario": spec["_name"],
        "redis_version": nodes[cluster.order[0]]["info"].get("redis_version"),
        "virtual_ms": spec["duration_ms"],
        "wall_ms": round(wall * 1000),
        "t0_unix": round(t0, 3),
        "t0_phase_ms": round((t0 % 1.0) * 1000, 1),
        "history": summarize(ops),
        "nodes": nodes,
        "steps_fired": fired,
        "events": events,
        "workdir": workdir if keep_dir else None,
    }


COMPARED_EVENTS = ["full_sync", "partial_sync_ok", "partial_sync_err", "replica_online", "replica_lost",
                   "master_link_down", "master_link_up", "min_replicas_not_met", "min_replicas_met"]


def fault_times(spec):
    """The first pause/partition and the first resume/heal after it, in ms (None if absent)."""
    down = next((s["at_ms"] for s in spec.get("step", []) if s.get("fault") in ("pause", "partition")), None)
    up = next((s["at_ms"] for s in spec.get("step", []) if s.get("fault") in ("resume", "heal")
               and down is not None and s["at_ms"] > down), None)
    return down, up


def brief(report, spec):
    """The fields the comparison is about, from a real or a redsim report."""
    h = report["history"]
    m1 = report["nodes"]["m1"]["info"]
    r1 = report["nodes"]["r1"]["info"]
    out = {
        "history.ok": h["ok"], "history.fail": h["fail"], "history.unknown": h.get("unknown", 0),
        "history.errors": ",".join("%s=%d" % kv for kv in sorted(h["errors"].items())) or "-",
        "history.first_fail_ms": h["first_fail_ms"], "history.last_fail_ms": h["last_fail_ms"],
        "history.latency_ms.p50": h["latency_ms"]["p50"], "history.latency_ms.p99": h["latency_ms"]["p99"],
    }
    down, up = fault_times(spec)
    if h["first_fail_ms"] is not None and down is not None:
        out["first_fail_ms - %d (fault)" % down] = h["first_fail_ms"] - down
    if h["last_fail_ms"] is not None and up is not None:
        out["last_fail_ms - %d (recovery)" % up] = h["last_fail_ms"] - up
    for k in M1_FIELDS:
        out["m1." + k] = m1.get(k)
    for k in R1_FIELDS:
        out["r1." + k] = r1.get(k)
    if h["ok"]:
        out["m1.master_repl_offset / history.ok"] = round(m1.get("master_repl_offset", 0) / h["ok"], 2)
    out["r1.offset == m1.offset"] = r1.get("slave_repl_offset") == m1.get("master_repl_offset")
    for e in report.get("events", []):
        if e["event"] not in COMPARED_EVENTS:
            continue
        key = "event %s.%s" % (e["node"], e["event"])
        out[key] = (out.get(key, "") + " " + str(e["t_ms"])).strip()
    return out


def real_summary(report):
    out = {k: report[k] for k in ("scenario", "redis_version", "virtual_ms", "wall_ms", "t0_phase_ms", "history",
                                  "steps_fired", "events")}
    out["nodes"] = {
        "m1": {"info": {k: report["nodes"]["m1"]["info"].get(k) for k in M1_FIELDS}},
        "r1": {"info": {k: report["nodes"]["r1"]["info"].get(k) for k in R1_FIELDS}},
    }
    return out


# ---- --compare ----

def run_redsim(binary, scenario, seed):
    t = time.monotonic()
    p = subprocess.run([binary, "run", scenario, "--seed", str(seed), "--json"], capture_output=True, check=False)
    wall = time.monotonic() - t
    if p.returncode not in (0, 1):
        raise SystemExit("redsim failed: %s" % p.stderr.decode())
    report = json.loads(p.stdout)
    report["process_wall_s"] = wall
    return report


def table(real, sims, seeds, spec):
    rows = [brief(real, spec)] + [brief(s, spec) for s in sims]
    keys = []
    for r in rows:
        for k in r:
            if k not in keys and not k.startswith("event "):
                keys.append(k)
    for r in rows:
        for k in r:
            if k not in keys:
                keys.append(k)
    head = ["field", "real Redis 7.0.15"] + ["redsim seed %d" % s for s in seeds]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for k in keys:
        cells = [k] + ["" if r.get(k) is None else str(r.get(k)) for r in rows]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parse_seeds(text):
    if ".." in text:
        a, b = text.split("..")
        return list(range(int(a), int(b) + 1))
    return [int(s) for s in text.split(",")]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scenario", help="a built-in scenario name or a .toml path")
    ap.add_argument("--port-base", type=int, default=7601, help="m1 gets this port, r1 the next")
    ap.add_argument("--compare", action="store_true", help="also run redsim and print a table")
    ap.add_argument("--seeds", default="1..3")
    ap.add_argument("--redsim", default=os.path.join(ROOT, "target", "release", "redsim"))
    ap.add_argument("--phase-ms", type=float, default=0.0,
                    help="start the run this many ms after a whole wall-clock second (default 0)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir with the Redis logs")
    ap.add_argument("--json-out", help="also write the full real report (all INFO fields) here")
    args = ap.parse_args()
    if shutil.which("redis-server") is None:
        raise SystemExit("redis-server is not installed")
    spec = load_spec(args.scenario)
    real = run_real(spec, args.port_base, phase_ms=args.phase_ms, keep_dir=args.keep)
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(real, f, indent=1)
    print(json.dumps(real_summary(real), indent=1))
    if not args.compare:
        return
    seeds = parse_seeds(args.seeds)
    sims = [run_redsim(args.redsim, args.scenario, s) for s in seeds]
    print()
    print(table(real, sims, seeds, spec))
    print()
    real_s = real["wall_ms"] / 1000.0
    for s, r in zip(seeds, sims):
        inner = r["wall_ms"] / 1000.0
        print("seed %d: real %.2f s / redsim %.3f s process (%.3f s in-run wall_ms) = %.0fx (%.0fx in-run); "
              "expectations %s" % (s, real_s, r["process_wall_s"], inner, real_s / r["process_wall_s"],
                                   real_s / max(inner, 1e-3), "passed" if r["passed"] else "FAILED"))


if __name__ == "__main__":
    sys.exit(main())
