#!/usr/bin/env python3
"""Reference runs of a Sentinel split brain on real processes, in network namespaces.

Builds five network namespaces n1..n5 on a Linux bridge (a veth pair each, addresses
10.77.0.1-5/24 that exist only inside these namespaces; the bridge itself has no address, so
nothing outside them can reach them). Each namespace runs what one machine of redsim's
`split-brain` scenario runs: a redis-server 7.0.15 (n1 the master, n2..n5 its replicas), a
redis-sentinel 7.0.15 (quorum 3, down-after-milliseconds 5000) and an application client
(client.py: a Sentinel-aware writer asking its own sentinel first).

Timeline (seconds after time 0, when the clients start): at --partition-at the veths of n1
and n2 move to a second bridge, so {n1,n2} | {n3,n4,n5}; --partition-s later they move back
(heal). With --cut drop, each node's neighbour entries for the other group's addresses point at a
MAC no interface has instead: packets to the other side vanish silently, so a connect hangs
as behind a firewall's DROP rather than failing with "No route to host" once the neighbour
entry expires and ARP fails, which is what the bridge cut gives; the clients stop at --stop-at. Then the script waits until the five servers converge
(one master, four replicas linked to it at its offset), reads the final master's dataset and
computes, from the clients' records of every acknowledged write:
  - acked writes lost (their key is missing from the final master), and the lost share;
  - the lost window: when the first and last lost writes were acknowledged;
  - the failover time: from the partition to the first +switch-master in any sentinel's log;
  - write availability: acknowledged writes / writes sent (`write_availability`; the client
    skips the slots that pass while it waits on a timeout or asks the sentinels, so compare.py
    divides by the slots instead: rate x stop-at per client).

Needs root (ip netns, ip link). Standard library only. Usage:
    sudo python3 ci/reference/splitbrain/run_splitbrain.py --min-replicas 0,1,2 --runs 1 \\
        --out-dir ci/reference/splitbrain/results
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
NODES = ["n1", "n2", "n3", "n4", "n5"]
SUBNET = "10.77.0.%d"
BRIDGE, BRIDGE_CUT = "rsbr0", "rsbr1"
LOG_LINE = re.compile(r"^(\d+):([XMSC]) (\d\d \w\w\w \d{4} \d\d:\d\d:\d\d\.\d{3}) (.) (.*)$")


def sh(*cmd, check=True, capture=False):
    r = subprocess.run(list(cmd), check=False, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(cmd), r.stderr.strip()))
    return r.stdout if capture else r.returncode


def ip_of(node):
    return SUBNET % (NODES.index(node) + 1)


def veth(node):
    return "rsv" + node


def teardown():
    for n in NODES:
        # Killing the namespace's processes first: a namespace with live processes lingers.
        pids = sh("ip", "netns", "pids", n, check=False, capture=True) or ""
        for pid in pids.split():
            sh("kill", "-9", pid, check=False)
        sh("ip", "netns", "del", n, check=False)
        sh("ip", "link", "del", veth(n), check=False)
    for b in (BRIDGE, BRIDGE_CUT):
        sh("ip", "link", "del", b, check=False)


def build_network():
    teardown()
    for b in (BRIDGE, BRIDGE_CUT):
        sh("ip", "link", "add", b, "type", "bridge")
        sh("ip", "link", "set", b, "up")
    for n in NODES:
        sh("ip", "netns", "add", n)
        sh("ip", "link", "add", veth(n), "type", "veth", "peer", "name", "eth0", "netns", n)
        sh("ip", "link", "set", veth(n), "master", BRIDGE)
        sh("ip", "link", "set", veth(n), "up")
        sh("ip", "netns", "exec", n, "ip", "link", "set", "lo", "up")
        sh("ip", "netns", "exec", n, "ip", "addr", "add", ip_of(n) + "/24", "dev", "eth0")
        sh("ip", "netns", "exec", n, "ip", "link", "set", "eth0", "up")


def move(nodes, bridge):
    for n in nodes:
        sh("ip", "link", "set", veth(n), "master", bridge)


# A MAC address no interface has: frames to it are flooded by the bridge and dropped by every
# namespace's eth0.
NOWHERE_MAC = "02:00:00:00:00:99"


def cut(groups, how):
    """Partition the groups: move the first group to the second bridge, or (drop) point each
    node's neighbour entries for the other groups' addresses at a MAC no one has, so their
    packets vanish silently, as behind a firewall's DROP (no ARP failure, no "No route to
    host")."""
    if how == "bridge":
        move(groups[0], BRIDGE_CUT)
        return
    for group in groups:
        for n in group:
            for o in (o for g in groups if g is not group for o in g):
                sh("ip", "netns", "exec", n, "ip", "neigh", "replace", ip_of(o), "lladdr",
                   NOWHERE_MAC, "dev", "eth0", "nud", "permanent")


def heal(groups, how):
    if how == "bridge":
        move(groups[0], BRIDGE)
        return
    for group in groups:
        for n in group:
            for o in (o for g in groups if g is not group for o in g):
                sh("ip", "netns", "exec", n, "ip", "neigh", "del", ip_of(o), "dev", "eth0")


def cli(node, *args, port=6379):
    return sh("ip", "netns", "exec", node, "redis-cli", "-h", ip_of(node), "-p", str(port), *args,
              check=False, capture=True)


def info(node):
    fields = {}
    for line in cli(node, "INFO", "replication").splitlines():
        if ":" in line:
            k, v = line.strip().split(":", 1)
            fields[k] = v
    return fields


def start_processes(workdir, min_replicas, max_lag, quorum, down_after, failover_timeout):
    procs = []
    for n in NODES:
        d = os.path.join(workdir, n)
        os.makedirs(d, exist_ok=True)
        conf = [
            "port 6379", "bind 0.0.0.0", "protected-mode no", "dir %s" % d,
            "logfile %s/redis.log" % d, "save \"\"", "appendonly no",
            "min-replicas-to-write %d" % min_replicas, "min-replicas-max-lag %d" % max_lag,
        ]
        if n != "n1":
            conf.append("replicaof %s 6379" % ip_of("n1"))
        with open(os.path.join(d, "redis.conf"), "w") as f:
            f.write("\n".join(conf) + "\n")
        sconf = [
            "port 26379", "bind 0.0.0.0", "protected-mode no", "dir %s" % d,
            "logfile %s/sentinel.log" % d,
            "sentinel monitor mymaster %s 6379 %d" % (ip_of("n1"), quorum),
            "sentinel down-after-milliseconds mymaster %d" % down_after,
            "sentinel failover-timeout mymaster %d" % failover_timeout,
        ]
        with open(os.path.join(d, "sentinel.conf"), "w") as f:
            f.write("\n".join(sconf) + "\n")
        procs.append(subprocess.Popen(["ip", "netns", "exec", n, "redis-server",
                                       os.path.join(d, "redis.conf")]))
    wait_for("the master has 4 replicas online",
             lambda: info("n1").get("connected_slaves") == "4" and all(
                 info(n).get("master_link_status") == "up" for n in NODES[1:]), 60)
    for n in NODES:
        d = os.path.join(workdir, n)
        procs.append(subprocess.Popen(["ip", "netns", "exec", n, "redis-sentinel",
                                       os.path.join(d, "sentinel.conf")]))

    def sentinels_ready():
        for n in NODES:
            out = cli(n, "SENTINEL", "master", "mymaster", port=26379).split()
            fields = dict(zip(out[::2], out[1::2]))
            if fields.get("num-slaves") != "4" or fields.get("num-other-sentinels") != "4":
                return False
        return True

    wait_for("every sentinel knows 4 replicas and 4 other sentinels", sentinels_ready, 60)
    return procs


def wait_for(what, predicate, timeout_s):
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        value = predicate()
        if value:
            return time.time(), value
        time.sleep(0.2)
    raise RuntimeError("timed out waiting until " + what)


def converged():
    """The master's name when one server is master and every other replicates it at its offset."""
    infos = {n: info(n) for n in NODES}
    masters = [n for n, i in infos.items() if i.get("role") == "master"]
    if len(masters) != 1:
        return None
    m = masters[0]
    offset = infos[m].get("master_repl_offset")
    for n, i in infos.items():
        if n == m:
            continue
        if (i.get("master_host") != ip_of(m) or i.get("master_link_status") != "up"
                or i.get("slave_repl_offset") != offset):
            return None
    return m


def sentinel_events(workdir, t0):
    events = []
    for n in NODES:
        path = os.path.join(workdir, n, "sentinel.log")
        if not os.path.exists(path):
            continue
        with open(path, errors="replace") as f:
            for line in f:
                m = LOG_LINE.match(line.rstrip("\n"))
                if not m or m.group(2) != "X":
                    continue
                text = m.group(5)
                word = text.split(" ", 1)[0]
                if not word or word[0] not in "+-":
                    continue
                stamp = datetime.strptime(m.group(3), "%d %b %Y %H:%M:%S.%f").replace(
                    tzinfo=timezone.utc)
                detail = text[len(word):].strip()
                for k in NODES:
                    detail = detail.replace(ip_of(k), k)
                events.append({"t_ms": round((stamp.timestamp() - t0) * 1000), "node": "s" + n[1:],
                               "event": word, "detail": detail})
    events.sort(key=lambda e: (e["t_ms"], e["node"]))
    return events


def run_once(args, min_replicas, workdir):
    build_network()
    procs = start_processes(workdir, min_replicas, args.max_lag, args.quorum, args.down_after_ms,
                            args.failover_timeout_ms)
    clients = []
    try:
        t0 = float(int(time.time()) + 2)
        for n in NODES:
            order = [n] + [k for k in NODES if k != n]
            sentinels = ",".join("%s:26379" % ip_of(k) for k in order)
            clients.append(subprocess.Popen([
                "ip", "netns", "exec", n, sys.executable, os.path.join(HERE, "client.py"), "write",
                "--name", n, "--sentinels", sentinels, "--rate", str(args.rate), "--t0", str(t0),
                "--stop", str(args.stop_at), "--timeout-ms", str(args.timeout_ms),
                "--out", os.path.join(workdir, n, "ops.jsonl")]))
        time.sleep(max(0.0, t0 + args.partition_at - time.time()))
        groups = [["n1", "n2"], ["n3", "n4", "n5"]]
        # The time just before the first link is cut: each `ip` command takes milliseconds
        # (tens under load), so the cut is complete a little later.
        t_partition = time.time() - t0
        cut(groups, args.cut)
        t_cut_done = time.time() - t0
        time.sleep(max(0.0, t0 + args.partition_at + args.partition_s - time.time()))
        heal(groups, args.cut)
        t_heal = time.time() - t0
        for c in clients:
            c.wait()
        t_conv, master = wait_for("the five servers converge", converged,
                                  args.converge_timeout_s)
        t_conv -= t0
        dataset = json.loads(sh("ip", "netns", "exec", master, sys.executable,
                                os.path.join(HERE, "client.py"), "dump", "--host", ip_of(master),
                                capture=True))
        events = sentinel_events(workdir, t0)
    finally:
        for c in clients:
            if c.poll() is None:
                c.kill()
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
        teardown()
    ops = []
    for n in NODES:
        with open(os.path.join(workdir, n, "ops.jsonl")) as f:
            ops += [json.loads(line) for line in f if line.strip()]
    return analyse(ops, dataset, events, master, min_replicas, args,
                   {"partition_s": round(t_partition, 3), "cut_done_s": round(t_cut_done, 3),
                    "heal_s": round(t_heal, 3),
                    "converged_s": round(t_conv, 3)})


def analyse(ops, dataset, events, master, min_replicas, args, times):
    acked = [o for o in ops if o["outcome"] == "ok"]
    lost = [o for o in acked if o["key"] not in dataset]
    part = times["partition_s"]
    switch = [e["t_ms"] for e in events if e["event"] == "+switch-master"]
    failover_ms = round(min(switch) - part * 1000) if switch else None
    errors = {}
    for o in ops:
        if o["outcome"] == "fail":
            errors[o["error"]] = errors.get(o["error"], 0) + 1
    per_client = {}
    for n in NODES:
        mine = [o for o in ops if o["client"] == n]
        per_client[n] = {
            "attempts": len(mine),
            "acked": sum(1 for o in mine if o["outcome"] == "ok"),
            "lost": sum(1 for o in lost if o["client"] == n),
        }
    node_of_ip = {ip_of(n): n for n in NODES}
    lost_by_node = {}
    for o in lost:
        node = node_of_ip[o["node"].split(":")[0]]
        lost_by_node[node] = lost_by_node.get(node, 0) + 1
    return {
        "min_replicas_to_write": min_replicas,
        "min_replicas_max_lag": args.max_lag,
        "params": {"cut": args.cut, "rate_per_client": args.rate, "timeout_ms": args.timeout_ms,
                   "partition_at_s": args.partition_at, "partition_s": args.partition_s,
                   "stop_at_s": args.stop_at, "quorum": args.quorum,
                   "down_after_ms": args.down_after_ms,
                   "failover_timeout_ms": args.failover_timeout_ms},
        "times_s": times,
        "final_master": master,
        "attempts": len(ops),
        "acked": len(acked),
        "write_availability": round(len(acked) / len(ops), 4) if ops else None,
        "acked_lost": len(lost),
        "lost_share": round(len(lost) / len(acked), 4) if acked else None,
        "lost_window_s": ([round(min(o["complete_s"] for o in lost), 3),
                           round(max(o["complete_s"] for o in lost), 3)] if lost else None),
        "lost_by_acking_node": lost_by_node,
        "failover_ms": failover_ms,
        "errors": errors,
        "unknown": sum(1 for o in ops if o["outcome"] == "unknown"),
        "per_client": per_client,
        "events": [e for e in events if e["event"] in (
            "+sdown", "+odown", "+elected-leader", "+promoted-slave", "+switch-master",
            "+failover-end", "+failover-end-for-timeout", "+slave-reconf-sent",
            "-slave-reconf-sent-timeout", "+slave-reconf-sent-be", "+slave-reconf-done",
            "+convert-to-slave", "+fix-slave-config", "-odown", "-sdown")
            and not e["detail"].startswith("sentinel ")],
        "lost_writes": lost[:100],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--min-replicas", default="0,1,2", help="min-replicas-to-write values")
    ap.add_argument("--max-lag", type=int, default=10)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--rate", type=float, default=50.0, help="writes per second per client")
    ap.add_argument("--timeout-ms", type=int, default=1000)
    ap.add_argument("--partition-at", type=float, default=10.0)
    ap.add_argument("--partition-s", type=float, default=40.0)
    ap.add_argument("--stop-at", type=float, default=80.0)
    ap.add_argument("--quorum", type=int, default=3)
    ap.add_argument("--down-after-ms", type=int, default=5000)
    ap.add_argument("--failover-timeout-ms", type=int, default=60000)
    ap.add_argument("--cut", choices=["bridge", "drop"], default="bridge",
                    help="partition by moving n1, n2 to a second bridge, or by silent drops")
    ap.add_argument("--converge-timeout-s", type=float, default=90.0)
    ap.add_argument("--out-dir", default=os.path.join(HERE, "results"))
    ap.add_argument("--keep", action="store_true", help="keep the logs' directory")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run_splitbrain.py needs root (ip netns)")
    os.makedirs(args.out_dir, exist_ok=True)
    for value in [int(v) for v in args.min_replicas.split(",")]:
        runs = []
        for r in range(args.runs):
            workdir = tempfile.mkdtemp(prefix="redsim-splitbrain-")
            result = run_once(args, value, workdir)
            runs.append(result)
            print("min-replicas-to-write %d run %d: acked %d, lost %d (%.1f%%), window %s, "
                  "failover %s ms, availability %.1f%%, final master %s" % (
                      value, r + 1, result["acked"], result["acked_lost"],
                      100 * (result["lost_share"] or 0), result["lost_window_s"],
                      result["failover_ms"], 100 * (result["write_availability"] or 0),
                      result["final_master"]), flush=True)
            if not args.keep:
                shutil.rmtree(workdir, ignore_errors=True)
        suffix = "" if args.cut == "bridge" else "-" + args.cut
        path = os.path.join(args.out_dir, "min-replicas-%d%s.json" % (value, suffix))
        with open(path, "w") as f:
            json.dump({"redis_version": sh("redis-server", "--version", capture=True).strip(),
                       "runs": runs}, f, indent=1)


if __name__ == "__main__":
    main()
