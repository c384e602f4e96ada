#!/usr/bin/env python3
"""Parallel HTTP effects benchmark (issue 4).

One run of `for i in items max 200 { effect ... = http.post(...) }` with 200
items against the loopback stand-in (tests/standin/standin.py) answering each
request after --delay-ms (100 ms). Prints the wall time of the aosrun
process, its peak thread count (sampled from /proc every 2 ms) and its peak
resident memory. Sequential calls would take 200 x 100 ms = 20 s.

Target: under 1 s in all, one process, under 50 MB peak.

Usage: bench/http_bench.py [--aosrun build/aosrun] [--runs 5] [--n 200] [--delay-ms 100]
"""
import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def workflow(n):
    items = ", ".join(str(i) for i in range(n))
    return """workflow fan(base: string, tag: string) {
  concurrency %d
  let items = [%s]
  for i in items max %d {
    effect post = http.post("${base}/effects/${tag}-${i}", json: {i: i}) { key "${tag}-${i}" }
  }
  output {sent: size(post)}
}
""" % (n, items, n)


def threads_of(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("Threads:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--aosrun", default=os.path.join(ROOT, "build", "aosrun"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--delay-ms", type=int, default=100)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="aos-http-bench-")
    port_file = os.path.join(tmp, "port")
    standin = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests", "standin", "standin.py"),
                                "--port", "0", "--port-file", port_file, "--delay-ms", str(args.delay_ms)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if os.path.exists(port_file):
                break
            time.sleep(0.05)
        base = "http://127.0.0.1:%s" % open(port_file).read().strip()
        wf = os.path.join(tmp, "fan.aos")
        with open(wf, "w") as f:
            f.write(workflow(args.n))
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        walls, peaks, rsss = [], [], []
        for r in range(args.runs):
            data = os.path.join(tmp, "data%d" % r)
            start = time.perf_counter()
            proc = subprocess.Popen([args.aosrun, wf, "--data", data, "--input", "base=" + base,
                                     "--input", "tag=run%d" % r, "--json"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
            peak = 0
            while proc.poll() is None:
                peak = max(peak, threads_of(proc.pid))
                time.sleep(0.002)
            out, err = proc.communicate()
            wall = time.perf_counter() - start
            o = json.loads(out.decode() or "{}")
            if o.get("output") != {"sent": args.n}:
                sys.exit("bench: unexpected result: %s %s" % (out.decode()[:300], err.decode()[-500:]))
            walls.append(wall)
            peaks.append(peak)
            rsss.append(rss_of_last_child())
        stats = json.load(urllib.request.build_opener(urllib.request.ProxyHandler({})).open(base + "/stats"))
        once = all(v == 1 for v in stats["requests_by_key"].values())
        print("%d parallel HTTP effects, each answered after %d ms (sequential: %.0f s)"
              % (args.n, args.delay_ms, args.n * args.delay_ms / 1000))
        print("  wall time  median %.3f s  (min %.3f s)   target < 1 s" % (statistics.median(walls), min(walls)))
        print("  threads    peak %d (sampled)                    one process" % max(peaks))
        print("  memory     peak %.1f MB                          target < 50 MB" % max(rsss))
        print("  receiver   %d keys, each exactly once: %s" % (len(stats["requests_by_key"]), once))
    finally:
        standin.send_signal(signal.SIGTERM)
        standin.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def rss_of_last_child():
    import resource
    # ru_maxrss of all waited-for children so far; the runs are alike, so the
    # running maximum is the peak of one run.
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0


if __name__ == "__main__":
    main()
