#!/usr/bin/env python3
"""Real redis-sentinel 7.0.15 vs redsim, side by side, as a Markdown table.

Reads the JSON that run_sentinel.py wrote (--json-out) for a scenario,
runs `redsim run <scenario> --seed N --json` for the given seeds, and
prints, per Sentinel event, the first time it was seen in each run or seed
(min / median / max), which node was the master at the end, and the order
of the events (by median first time). +sdown and -sdown count only when
they are about the master (not a Sentinel or a replica); events after the
scenario's end (the reference script resumes paused processes to ask their
role) are left out.

Standard library only. Usage:
    python3 ci/reference/sentinel/compare.py sentinel-failover \\
        ci/reference/sentinel/results/sentinel-failover.json --seeds 1..20
"""

import argparse
import json
import statistics
import subprocess

EVENTS = [
    "+sdown", "+odown", "+try-failover", "+vote-for-leader", "+elected-leader",
    "+selected-slave", "+promoted-slave", "+switch-master", "+failover-end",
    "-failover-abort-not-elected", "+convert-to-slave", "+tilt", "-tilt",
]


def firsts(events, duration_ms):
    seen = {}
    for e in sorted(events, key=lambda e: e["t_ms"]):
        if e["t_ms"] >= duration_ms or e["event"] not in EVENTS:
            continue
        if e["event"] in ("+sdown", "-sdown") and not e["detail"].startswith("master "):
            continue
        seen.setdefault(e["event"], e["t_ms"])
    return seen


def stats(ts):
    if not ts:
        return "-"
    return "%d / %d / %d" % (min(ts), statistics.median(ts), max(ts))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("scenario", help="a built-in scenario name or a scenario file")
    ap.add_argument("reference", help="run_sentinel.py --json-out file, or - for none")
    ap.add_argument("--seeds", default="1..20")
    ap.add_argument("--redsim", default="target/release/redsim")
    ap.add_argument("--duration-ms", type=int, default=60_000)
    args = ap.parse_args()
    lo, hi = (int(x) for x in args.seeds.split(".."))
    real_runs = []
    if args.reference != "-":
        with open(args.reference) as f:
            real_runs = json.load(f)["runs"]
    real = [firsts(r["events"], args.duration_ms) for r in real_runs]
    real_masters = [",".join(sorted(n for n, ro in r["roles"].items() if ro == "master")) for r in real_runs]
    sim, sim_masters = [], []
    for seed in range(lo, hi + 1):
        out = subprocess.run([args.redsim, "run", args.scenario, "--seed", str(seed), "--json"],
                             capture_output=True, text=True)
        report = json.loads(out.stdout)
        sim.append(firsts(report["events"], args.duration_ms))
        sim_masters.append(",".join(sorted(n for n, v in report["nodes"].items() if v["role"] == "master")))
    names = [e for e in EVENTS if any(e in r for r in real + sim)]
    med = lambda runs, e: statistics.median([r[e] for r in runs if e in r]) if any(e in r for r in runs) else float("inf")
    print("| event | real: runs | real first ms (min / median / max) | redsim: seeds | redsim first ms (min / median / max) |")
    print("|---|---|---|---|---|")
    for e in names:
        rt = [r[e] for r in real if e in r]
        st = [r[e] for r in sim if e in r]
        print("| `%s` | %d/%d | %s | %d/%d | %s |" % (e, len(rt), len(real), stats(rt), len(st), len(sim), stats(st)))
    print()
    tally = lambda ms: ", ".join("%s in %d" % (m or "none", ms.count(m)) for m in sorted(set(ms)))
    print("Master at the end: real %s; redsim %s." % (tally(real_masters) or "-", tally(sim_masters)))
    order = lambda runs: " < ".join(e for e in sorted(names, key=lambda e: med(runs, e)) if med(runs, e) != float("inf"))
    if real:
        print()
        print("Order (by median first time), real: %s" % order(real))
    print()
    print("Order (by median first time), redsim: %s" % order(sim))


if __name__ == "__main__":
    main()
