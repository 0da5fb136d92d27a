#!/usr/bin/env python3
"""Virtual time over CPU time of `redsim run`, the speed bar of SPEC.md ("Quality bars").

    python3 ci/perf/cpu_ratio.py [--runs 11] BIN SCENARIO [SCENARIO ...]

Runs `BIN run SCENARIO --seed 1 --json` RUNS times per scenario (scenarios interleaved, so a
change in machine load hits all of them alike), takes each run's CPU time (user + system, from
the kernel's rusage of the child) and prints per scenario the median CPU seconds, the virtual
seconds the run played (the report's virtual_ms) and their ratio. Several BINs may be given as
BIN1,BIN2 to compare builds under the same load.
"""
import argparse
import json
import os
import statistics
import subprocess


def one_run(binary, scenario):
    proc = subprocess.Popen(
        [binary, "run", scenario, "--seed", "1", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    report = json.loads(out)
    return usage.ru_utime + usage.ru_stime, report["virtual_ms"] / 1000.0, report["trace_hash"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("binaries", help="redsim binary, or several separated by commas")
    parser.add_argument("scenarios", nargs="+")
    args = parser.parse_args()
    binaries = args.binaries.split(",")
    cpu = {(b, s): [] for b in binaries for s in args.scenarios}
    virtual = {}
    hashes = {}
    for _ in range(args.runs):
        for s in args.scenarios:
            for b in binaries:
                seconds, virt, trace_hash = one_run(b, s)
                cpu[(b, s)].append(seconds)
                virtual[s] = virt
                hashes.setdefault((b, s), trace_hash)
    print("| scenario | binary | virtual s | CPU s (median of %d) | virtual / CPU | trace_hash |" % args.runs)
    print("|---|---|---|---|---|---|")
    for s in args.scenarios:
        for b in binaries:
            median = statistics.median(cpu[(b, s)])
            print(
                "| %s | %s | %.0f | %.4f | %.0fx | %s |"
                % (s, b, virtual[s], median, virtual[s] / median, hashes[(b, s)][:12])
            )


if __name__ == "__main__":
    main()
