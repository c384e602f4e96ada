#!/usr/bin/env python3
"""aoscheck benchmark: wall time and peak memory for generated workflows.

For N = 1,000, 10,000 and 100,000 statements (bench/gen_workflow.py), runs
`aoscheck FILE` several times and prints the median wall time and the peak
resident memory of the process. Targets (issue 2): 10,000 statements in
under 100 ms, 100,000 in under 1 s, memory under 200 MB.

Usage: bench/aoscheck_bench.py [--aoscheck build/aoscheck] [--runs 5] [N ...]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def measure(cmd):
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode()
    proc.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"aoscheck failed ({code}): {err[:2000]}")
    return wall, usage.ru_maxrss / 1024.0  # ru_maxrss is in KiB on Linux


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--aoscheck", default=os.path.join(HERE, "..", "build", "aoscheck"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("sizes", nargs="*", type=int, default=[1000, 10000, 100000])
    args = ap.parse_args()
    print(f"{'statements':>10}  {'file':>9}  {'median wall':>11}  {'min wall':>9}  {'peak RSS':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            path = os.path.join(tmp, f"big{n}.aos")
            with open(path, "w") as f:
                subprocess.run([sys.executable, os.path.join(HERE, "gen_workflow.py"), str(n)],
                               stdout=f, check=True)
            size_kb = os.path.getsize(path) / 1024
            walls, rss = [], []
            for _ in range(args.runs):
                w, r = measure([args.aoscheck, "-q", path])
                walls.append(w)
                rss.append(r)
            print(f"{n:>10,}  {size_kb:>7.0f}KB  {statistics.median(walls) * 1000:>9.1f}ms"
                  f"  {min(walls) * 1000:>7.1f}ms  {max(rss):>7.1f}MB")


if __name__ == "__main__":
    main()
