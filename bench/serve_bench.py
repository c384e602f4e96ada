#!/usr/bin/env python3
"""Figures for `aosrun serve` (serve.md §6), measured, not asserted:

  approve   approval -> run completed through the API, warm (median of N)
  starts    3-step runs started through the API by 100 concurrent clients (runs/s)
  timers    lateness of timers firing with many pending (p50, p99)
  restart   restart with many waiting runs -> serving (s), and its RSS
  idle      CPU of serve with those runs waiting, over 10 s (% of one core)

Usage: bench/serve_bench.py [--aosrun build/aosrun] [--waiting 10000] [--approvals 200]
"""
import argparse
import concurrent.futures
import json
import os
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
import urllib.request

ap = argparse.ArgumentParser()
ap.add_argument("--aosrun", default="build/aosrun")
ap.add_argument("--waiting", type=int, default=10000)
ap.add_argument("--approvals", type=int, default=200)
ap.add_argument("--starts", type=int, default=3000)
args = ap.parse_args()
AOSRUN = os.path.abspath(args.aosrun)
TMP = tempfile.mkdtemp(prefix="aos_serve_bench_")
ENV = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy") and not k.startswith("AOS_")}
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
WF = os.path.join(TMP, "w.aos")
with open(WF, "w") as f:
    f.write('workflow gate() {\n  approval ok { ask "go?" timeout 1h }\n  output ok.approved\n}\n'
            'workflow three(n: int) {\n  let a = n + 1\n  let b = a * 2\n  let c = b - 1\n  output c\n}\n'
            'workflow pause(s: duration) {\n  wait w for s\n  output 1 after w\n}\n')


class Serve:
    def __init__(self, data):
        info = os.path.join(data, "serve.json")
        if os.path.exists(info):
            os.remove(info)
        self.t0 = time.monotonic()
        self.p = subprocess.Popen([AOSRUN, "serve", WF, "--data-dir", data, "--listen", "127.0.0.1:0"],
                                  env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while not os.path.exists(info):
            time.sleep(0.002)
        self.url = json.load(open(info))["address"]
        self.token = open(os.path.join(data, "serve.token")).read().strip()
        # Serving: a request the driver answers (after it recovered every run).
        while True:
            try:
                self.call("GET", "/metrics")
                break
            except Exception:
                time.sleep(0.002)
        self.ready = time.monotonic() - self.t0

    def call(self, method, path, body=None):
        req = urllib.request.Request(self.url + path, method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": "Bearer " + self.token})
        with OPENER.open(req, timeout=120) as r:
            body = r.read()
            return json.loads(body) if body[:1] in (b"{", b"[") else body.decode()

    def rss_mb(self):
        for line in open("/proc/%d/status" % self.p.pid):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0

    def cpu_s(self):
        f = open("/proc/%d/stat" % self.p.pid).read().split(")")[-1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        self.p.wait(timeout=60)


data = os.path.join(TMP, "data")
s = Serve(data)
# approve -> completed, warm
lat = []
for i in range(args.approvals):
    s.call("POST", "/api/runs", {"workflow": "gate", "run_id": "g%d" % i})
    t = time.perf_counter()
    out = s.call("POST", "/api/runs/g%d/approvals/ok" % i, {"decision": "approve"})
    lat.append((time.perf_counter() - t) * 1000)
    assert out["status"] == "completed"
print("approve   approval -> completed through the API: median %.2f ms, p90 %.2f ms (%d runs; target <= 3 ms)"
      % (statistics.median(lat), sorted(lat)[int(len(lat) * 0.9)], len(lat)))

# 3-step runs from 100 clients
t = time.perf_counter()
with concurrent.futures.ThreadPoolExecutor(100) as pool:
    list(pool.map(lambda i: s.call("POST", "/api/runs", {"workflow": "three", "input": {"n": i}}), range(args.starts)))
secs = time.perf_counter() - t
print("starts    %d three-step runs from 100 clients: %.0f runs/s (target >= 3,000; Python clients, a new "
      "connection per run: the clients take about half the machine)" % (args.starts, args.starts / secs))
# The same from 100 kept-alive connections of a C load generator (wrk, when
# installed: apt-get install wrk), which leaves the machine to the server.
if shutil.which("wrk"):
    lua = os.path.join(TMP, "start.lua")
    with open(lua, "w") as f:
        f.write('wrk.method = "POST"\nwrk.body = \'{"workflow":"three","input":{"n":3}}\'\n'
                'wrk.headers["Content-Type"] = "application/json"\n')
    before = len(s.call("GET", "/api/runs?workflow=three&status=completed"))
    out = subprocess.run(["wrk", "-t2", "-c100", "-d10s", "-s", lua, "-H", "Authorization: Bearer " + s.token,
                          s.url + "/api/runs"], capture_output=True, text=True).stdout
    rate = [l.split()[1] for l in out.splitlines() if l.startswith("Requests/sec:")]
    bad = [l for l in out.splitlines() if "Non-2xx" in l or "Socket errors" in l]
    after = len(s.call("GET", "/api/runs?workflow=three&status=completed"))
    print("starts    three-step runs from 100 kept-alive wrk connections over 10 s: %s runs/s, %d runs completed%s "
          "(target >= 3,000)" % (rate[0] if rate else "?", after - before, ("; " + "; ".join(bad)) if bad else ""))
else:
    print("starts    (wrk not installed: apt-get install wrk for the figure without Python's client cost)")

# timers: many pending, due over the next ~20 s
n = args.waiting
t = time.perf_counter()
with concurrent.futures.ThreadPoolExecutor(32) as pool:
    list(pool.map(lambda i: s.call("POST", "/api/runs", {"workflow": "pause", "run_id": "p%d" % i,
                                                          "input": {"s": "%dms" % (15000 + (i * 7919) % 10000)}}),
                  range(n)))
made = time.perf_counter() - t
print("timers    %d waiting runs started in %.1f s" % (n, made))
s.stop()  # restart with them all waiting
s = Serve(data)
# Recovered: every waiting run's due time is back in the index.
while "aos_due_runs %d" % n not in s.call("GET", "/metrics"):
    time.sleep(0.002)
recovered = time.monotonic() - s.t0
print("restart   %d waiting runs -> serving in %.2f s, all due times indexed in %.2f s, RSS %.0f MB "
      "(target <= 1 s, <= 200 MB)" % (n, s.ready, recovered, s.rss_mb()))
deadline = time.monotonic() + 40
done = 0
while time.monotonic() < deadline:
    runs = s.call("GET", "/api/runs?workflow=pause&status=completed")
    done = len(runs)
    if done >= n:
        break
    time.sleep(1)
late = []
for i in range(0, n, max(1, n // 300)):
    ev = s.call("GET", "/api/runs/p%d/events" % i)
    due = [e for e in ev if e["type"] == "TimerStarted"]
    fired = [e for e in ev if e["type"] == "TimerFired"]
    if due and fired:
        from datetime import datetime
        d = datetime.fromisoformat(due[0]["data"]["due"].replace("Z", "+00:00")[:26] + "+00:00")
        f_ = datetime.fromisoformat(fired[0]["at"].replace("Z", "+00:00")[:26] + "+00:00")
        late.append((f_ - d).total_seconds() * 1000)
late.sort()
if late:
    print("timers    lateness of %d sampled timers: p50 %.1f ms, p99 %.1f ms (target p99 <= 50 ms); %d of %d completed"
          % (len(late), late[len(late) // 2], late[min(len(late) - 1, int(len(late) * 0.99))], done, n))
# idle CPU, with runs waiting (on timers an hour away): nothing is due
with concurrent.futures.ThreadPoolExecutor(32) as pool:
    list(pool.map(lambda i: s.call("POST", "/api/runs", {"workflow": "pause", "run_id": "idle%d" % i,
                                                          "input": {"s": "1h"}}), range(n)))
waiting = s.call("GET", "/metrics")
time.sleep(1)
c0 = s.cpu_s()
time.sleep(10)
print("idle      CPU over 10 s with %d runs waiting, nothing due: %.2f%% of a core (target < 1%%)"
      % (n, (s.cpu_s() - c0) / 10 * 100))
s.stop()
shutil.rmtree(TMP, ignore_errors=True)
