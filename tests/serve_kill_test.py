#!/usr/bin/env python3
"""aosrun serve under SIGKILL: webhook deliveries, schedule fires and
approvals arrive while serve is killed at random moments and restarted.
Afterwards: every delivered key has exactly one run (a redelivery never
starts a second), every approval that serve answered 200 is recorded, every
effect reached the receiver at least once and at most once more per kill,
schedule fires have one run each, and verify is clean.

Usage: serve_kill_test.py PATH/TO/aosrun [SEED]   ($AOS_SERVE_KILLS: kills, default 100)
"""
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

AOSRUN = os.path.abspath(sys.argv[1])
SEED = int(sys.argv[2]) if len(sys.argv) > 2 else 20261130
KILLS = int(os.environ.get("AOS_SERVE_KILLS", "100"))
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "standin"))
from harness import Standin  # noqa: E402

TMP = tempfile.mkdtemp(prefix="aos_serve_kill_")
ENV = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy") and not k.startswith("AOS_")}
ENV["NO_PROXY"] = ENV["no_proxy"] = "127.0.0.1,localhost"
ENV["HOOK_TOKEN"] = "hook-" + os.urandom(6).hex()
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, flush=True)


stand = Standin(TMP)
WF = os.path.join(TMP, "w.aos")
with open(WF, "w") as f:
    f.write('workflow order(id: string) {\n'
            '  effect book = http.post("%s/effects/book", json: {id: id}) { key "book-${id}" retry 3 backoff 20ms }\n'
            '  approval ok { ask "ship ${id}?" timeout 1h } after book\n'
            '  output {id: id, ok: ok.approved}\n}\n'
            'workflow tick(at: string) {\n  output at\n}\n'
            'trigger orders {\n  webhook "/hooks/order"\n  auth bearer(secret("HOOK_TOKEN"))\n'
            '  key request.json.id\n  start order(id: request.json.id)\n}\n'
            'trigger ticker {\n  every 1s\n  start tick(at: format_time(fired_at, "%%H:%%M:%%S", "UTC"))\n}\n'
            % stand.url)
DATA = os.path.join(TMP, "data")


class Serve:
    def __init__(self):
        info = os.path.join(DATA, "serve.json")
        if os.path.exists(info):
            os.remove(info)
        self.p = subprocess.Popen([AOSRUN, "serve", WF, "--data-dir", DATA, "--listen", "127.0.0.1:0"], cwd=TMP,
                                  env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while not os.path.exists(info):
            if self.p.poll() is not None or time.monotonic() > deadline:
                fail("serve did not start (exit %s)" % self.p.poll())
                raise SystemExit(1)
            time.sleep(0.01)
        self.url = json.load(open(info))["address"]
        self.token = open(os.path.join(DATA, "serve.token")).read().strip()

    def call(self, method, path, body, headers):
        req = urllib.request.Request(self.url + path, method=method, data=json.dumps(body).encode(), headers=headers)
        try:
            with OPENER.open(req, timeout=30) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, None
        except Exception:
            return 0, None  # killed mid-request


rng = random.Random(SEED)
keys = ["o%d" % i for i in range(40)]
delivered = set()   # keys serve answered 2xx for
approved = set()    # runs whose approval serve answered 200 for
kills = 0
t0 = time.monotonic()
s = Serve()
try:
    while kills < KILLS and time.monotonic() - t0 < 240:
        # A burst of requests in a thread while this one kills serve.
        results = []

        def burst():
            for _ in range(rng.randint(1, 4)):
                if rng.random() < 0.6:
                    k = rng.choice(keys)
                    code, body = s.call("POST", "/hooks/order", {"id": k}, {"Authorization": "Bearer " + ENV["HOOK_TOKEN"]})
                    results.append(("hook", k, code))
                else:
                    k = rng.choice(keys)
                    code, body = s.call("POST", "/api/runs/orders.%s/approvals/ok" % k, {"decision": "approve"},
                                        {"Authorization": "Bearer " + s.token})
                    results.append(("approve", k, code))
        th = threading.Thread(target=burst)
        th.start()
        time.sleep(rng.uniform(0.005, 0.08))
        s.p.send_signal(signal.SIGKILL)
        s.p.wait()
        kills += 1
        th.join(timeout=60)
        for kind, k, code in results:
            if kind == "hook" and code in (200, 201):
                delivered.add(k)
            if kind == "approve" and code == 200:
                approved.add("orders." + k)
        s = Serve()
    # Settle: let the schedule fire, deliver keys once more (a sender's retry).
    time.sleep(2.5)
    for k in keys[:10]:
        code, _ = s.call("POST", "/hooks/order", {"id": k}, {"Authorization": "Bearer " + ENV["HOOK_TOKEN"]})
        if code in (200, 201):
            delivered.add(k)
    req = urllib.request.Request(s.url + "/api/runs", headers={"Authorization": "Bearer " + s.token})
    runs = json.load(OPENER.open(req, timeout=30))
    order_runs = [r for r in runs if r["workflow"] == "order"]
    ids = [r["run_id"] for r in order_runs]
    if len(ids) != len(set(ids)):
        fail("a run id appears twice: %s" % ids)
    missing = sorted(k for k in delivered if "orders." + k not in ids)
    if missing:
        fail("deliveries answered 2xx without a run: %s" % missing)
    extra = sorted(i for i in ids if i[len("orders."):] not in keys)
    if extra:
        fail("runs for keys never sent: %s" % extra)
    lost = []
    for run in sorted(approved):
        req = urllib.request.Request(s.url + "/api/runs/%s/events" % run, headers={"Authorization": "Bearer " + s.token})
        events = json.load(OPENER.open(req, timeout=30))
        if not any(e["type"] == "ApprovalDecided" for e in events):
            lost.append(run)
    if lost:
        fail("approvals answered 200 but not recorded: %s" % lost)
    by_key = stand.stats()["requests_by_key"]
    for run in ids:
        n = by_key.get("book-" + run[len("orders."):], 0)
        if not 1 <= n <= 1 + kills:
            fail("%s: its effect reached the receiver %d times" % (run, n))
    ticks = [r["run_id"] for r in runs if r["workflow"] == "tick"]
    if len(ticks) != len(set(ticks)) or not ticks:
        fail("schedule fires: %d runs, %d distinct" % (len(ticks), len(set(ticks))))
finally:
    s.p.send_signal(signal.SIGTERM)
    try:
        s.p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        s.p.kill()
    stand.stop()
p = subprocess.run([AOSRUN, "verify", "--data-dir", DATA], capture_output=True, text=True, env=ENV, timeout=120)
if p.returncode != 0:
    fail("verify after the kills: %s%s" % (p.stdout[-500:], p.stderr[-500:]))
print("seed %d: %d kills, %d keys delivered, %d approvals answered, %.1f s"
      % (SEED, kills, len(delivered), len(approved), time.monotonic() - t0))
if failures:
    print("%d failures (kept %s)" % (len(failures), TMP))
    sys.exit(1)
shutil.rmtree(TMP, ignore_errors=True)
print("passed")
