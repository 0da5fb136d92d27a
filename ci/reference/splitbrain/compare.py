#!/usr/bin/env python3
"""Real split brain (run_splitbrain.py's results) vs redsim, side by side, as Markdown.

Reads results/min-replicas-<N>.json for each N, runs
`redsim grid <scenario> --vary '*.min-replicas-to-write=<N,...>' --seeds <seeds> --report DIR`
and prints per min-replicas-to-write value: acked writes lost (count and share of acked
writes), the lost window (when the first and the last lost writes were acknowledged, in
seconds after the partition), the failover time (partition to the first +switch-master), and
the write availability.

Real availability is acknowledged writes / write slots (50 a second per client for the whole
run): the reference client skips the slots that pass while it waits on a timeout or asks the
sentinels. redsim's is acknowledged writes / writes invoked (its clients queue the operations
meanwhile and count them as invoked).

Lost windows are in seconds after the partition on both sides (the reference run's clock
starts when its clients start; the scenario's partition fires at --partition-ms).

Standard library only. Usage:
    python3 ci/reference/splitbrain/compare.py --scenario ci/reference/splitbrain/split-brain.toml \\
        --seeds 1..20
"""

import argparse
import json
import os
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def span(values, fmt):
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    lo, hi = min(values), max(values)
    if fmt(lo) == fmt(hi):
        return fmt(lo)
    return "%s..%s" % (fmt(lo), fmt(hi))


def ended_by_timeout(run):
    """The failover leader's +failover-end came more than 30 s after +promoted-slave: it waited
    for failover-timeout on a replica it could not reach."""
    promoted = [e["t_ms"] for e in run["events"] if e["event"] == "+promoted-slave"]
    ended = [e["t_ms"] for e in run["events"] if e["event"] == "+failover-end"]
    return bool(promoted and ended and ended[0] - promoted[0] > 30_000)


def seed_list(text):
    seeds = []
    for part in text.split(","):
        if ".." in part:
            a, b = part.split("..")
            seeds += range(int(a), int(b) + 1)
        else:
            seeds.append(int(part))
    return seeds


def sim_ended_by_timeout(args, value):
    """ended_by_timeout for every seed of the scenario with min-replicas-to-write <value>
    (the scenario file sets it to 0 on every node; the events come from `redsim run --json`)."""
    with open(args.scenario) as f:
        text = f.read().replace('"min-replicas-to-write 0"', '"min-replicas-to-write %d"' % value)
    fd, path = tempfile.mkstemp(suffix=".toml")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    out = []
    for seed in seed_list(args.seeds):
        run = subprocess.run([args.redsim, "run", path, "--seed", str(seed), "--json"],
                             capture_output=True, text=True)
        out.append(ended_by_timeout(json.loads(run.stdout)))
    os.unlink(path)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scenario", default=os.path.join(HERE, "split-brain.toml"))
    ap.add_argument("--values", default="0,1,2")
    ap.add_argument("--seeds", default="1..20")
    ap.add_argument("--redsim", default="target/release/redsim")
    ap.add_argument("--results", default=os.path.join(HERE, "results"))
    ap.add_argument("--cut", choices=["bridge", "drop"], default="bridge",
                    help="which reference runs: results/min-replicas-<N>[-drop].json")
    ap.add_argument("--partition-ms", type=int, default=25_000,
                    help="when the scenario's partition step fires")
    args = ap.parse_args()
    values = [int(v) for v in args.values.split(",")]
    out_dir = tempfile.mkdtemp(prefix="redsim-splitbrain-grid-")
    subprocess.run([args.redsim, "grid", args.scenario, "--vary",
                    "*.min-replicas-to-write=" + args.values, "--seeds", args.seeds,
                    "--report", out_dir], check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(out_dir, "grid.json")) as f:
        grid = json.load(f)
    pct = lambda x: "%.1f%%" % (100 * x)
    sec = lambda x: "%.1f" % x
    sec2 = lambda x: "%.2f" % x
    print("| min-replicas-to-write | | runs | acked writes | lost | lost share | lost window (s after the partition) | failover (s) | write availability | failover ended at failover-timeout |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for value, cell in zip(values, grid["cells"]):
        suffix = "" if args.cut == "bridge" else "-" + args.cut
        path = os.path.join(args.results, "min-replicas-%d%s.json" % (value, suffix))
        if os.path.exists(path):
            with open(path) as f:
                real = json.load(f)["runs"]
            part = [r["times_s"]["partition_s"] for r in real]
            windows = [(w[0] - p, w[1] - p) if w else None
                       for w, p in zip((r["lost_window_s"] for r in real), part)]
            slots = [r["params"]["rate_per_client"] * r["params"]["stop_at_s"] * len(r["per_client"])
                     for r in real]
            print("| %d | real 7.0.15, %s cut | %d | %s | %s | %s | %s to %s | %s | %s | %d/%d |" % (
                value, args.cut, len(real), span([r["acked"] for r in real], str),
                span([r["acked_lost"] for r in real], str),
                span([r["lost_share"] for r in real], pct),
                span([w[0] for w in windows if w], sec2), span([w[1] for w in windows if w], sec),
                span([r["failover_ms"] / 1000 if r["failover_ms"] is not None else None for r in real], sec),
                span([r["acked"] / s for r, s in zip(real, slots)], pct),
                sum(ended_by_timeout(r) for r in real), len(real)))
        runs = cell["runs"]
        part_ms = args.partition_ms
        first = [r.get("first_lost_acked_ms") for r in runs]
        last = [r.get("last_lost_acked_ms") for r in runs]
        stuck = sim_ended_by_timeout(args, value)
        print("| %d | redsim | %d | %s | %s | %s | %s to %s | %s | %s | %d/%d |" % (
            value, len(runs), span([r["acked_writes"] for r in runs], str),
            span([r["acked_writes_lost"] for r in runs], str),
            span([r["acked_writes_lost"] / r["acked_writes_evaluated"] if r["acked_writes_evaluated"] else None
                  for r in runs], pct),
            span([(f - part_ms) / 1000 if f is not None else None for f in first], sec2),
            span([(l - part_ms) / 1000 if l is not None else None for l in last], sec),
            span([r["failover_ms"] / 1000 if r.get("failover_ms") is not None else None for r in runs], sec),
            span([r["writes_ok"] / r["writes_attempted"] if r["writes_attempted"] else None for r in runs], pct),
            sum(stuck), len(stuck)))
    print()
    print("redsim: `%s grid %s --vary '*.min-replicas-to-write=%s' --seeds %s`" % (
        os.path.basename(args.redsim), os.path.relpath(args.scenario), args.values, args.seeds))


if __name__ == "__main__":
    main()
