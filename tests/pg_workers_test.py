#!/usr/bin/env python3
"""Several `aosrun serve` workers on one PostgreSQL store (docs/cluster.md):
three workers, 200 runs each with two keyed effects and an approval between
them, started and decided through any worker's API, while one worker is
SIGKILLed and restarted every few seconds and another is paused (SIGSTOP)
past its lease and then resumed. Every run completes; every effect key
reaches the receiver, never from two workers at once beyond a retry of an
effect in doubt; no decision is lost; and the paused worker, resumed,
appends nothing to the runs taken over from it. Meanwhile an `every 1s`
schedule fires at all three workers: one run per fire time, each completed.
Then 30 runs sharing five effect keys, started at once across the workers:
each key is sent once (the key is claimed in the store).

Usage: pg_workers_test.py PATH/TO/aosrun PG_STATE_FILE   (run by CTest)
Prints 'N passed, M failed' and exits non-zero on any failure.
"""
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
from concurrent.futures import ThreadPoolExecutor
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "standin"))
from harness import Checks, OPENER, Standin  # noqa: E402

if len(sys.argv) != 3:
    sys.exit("usage: pg_workers_test.py PATH/TO/aosrun PG_STATE_FILE")
AOSRUN = os.path.abspath(sys.argv[1])
with open(sys.argv[2]) as f:
    SERVER = json.load(f)["url"]
TMP = tempfile.mkdtemp(prefix="pg_workers_")
ENV = {k: v for k, v in os.environ.items() if not k.startswith("AOS_")}
RUNS = 200
check = Checks()


subprocess.run(["psql", SERVER, "-q", "-c", "DROP DATABASE IF EXISTS aos_workers"], capture_output=True)
subprocess.run(["psql", SERVER, "-q", "-c", "CREATE DATABASE aos_workers"], check=True, capture_output=True)
URL = SERVER.rsplit("/", 1)[0] + "/aos_workers"
STAND = Standin(TMP)
WF = os.path.join(TMP, "job.aos")
with open(WF, "w") as f:
    f.write('workflow job(n: int) {\n'
            '  effect a = http.post("%s/sleep/300") { key "a-${n}" }\n'
            '  approval ok {\n    ask "go ${n}?"\n    timeout 1h\n  } after a\n'
            '  effect b = http.post("%s/sleep/300") { key "b-${n}" } after ok\n'
            '  output n\n}\n'
            'workflow shared(n: int) {\n'
            '  effect s = http.post("%s/sleep/300") { key "s-${n %% 5}" }\n'
            '  output n\n}\n'
            'workflow tick(at: string) {\n'
            '  effect t = http.post("%s/sleep/50") { key "tick-${at}" }\n'
            '  output at\n}\n'
            'trigger ticker {\n  every 1s\n'
            '  start tick(at: format_time(fired_at, "%%Y%%m%%dT%%H%%M%%S", "UTC"))\n}\n'
            % (STAND.url, STAND.url, STAND.url, STAND.url))


class Worker:
    def __init__(self, i):
        self.i = i
        self.local = os.path.join(TMP, "worker%d" % i)
        self.p = None
        self.start()

    def start(self):
        info = os.path.join(self.local, "serve.json")
        if os.path.exists(info):
            os.remove(info)
        self.p = subprocess.Popen([AOSRUN, "serve", WF, "--store", URL, "--data-dir", self.local,
                                   "--listen", "127.0.0.1:0"], cwd=TMP, env=ENV,
                                  stdout=subprocess.DEVNULL, stderr=open(os.path.join(TMP, "w%d.err" % self.i), "a"))
        deadline = time.monotonic() + 20
        while not os.path.exists(info):
            if self.p.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("worker %d did not start (see %s)" % (self.i, "w%d.err" % self.i))
            time.sleep(0.02)
        self.url = json.load(open(info))["address"]
        self.token = open(os.path.join(self.local, "serve.token")).read().strip()

    def call(self, method, path, body=None):
        req = urllib.request.Request(self.url + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
        req.add_header("Authorization", "Bearer " + self.token)
        try:
            with OPENER.open(req, timeout=30) as r:
                return r.status, json.loads(r.read().decode() or "null")
        except urllib.error.HTTPError as e:
            return e.code, None
        except (urllib.error.URLError, OSError):
            return 0, None


workers = [Worker(i) for i in range(3)]
paused = None
lock = threading.Lock()
kills = 0
stop_chaos = threading.Event()


def any_worker():
    with lock:
        live = [w for w in workers if w.p.poll() is None and w is not paused]
        return random.choice(live)


def chaos():
    """SIGKILL worker 0 every 1.5 s and start it again (six times)."""
    global kills
    while kills < 6 and not stop_chaos.wait(1.5):
        with lock:
            w = workers[0]
            w.p.send_signal(signal.SIGKILL)
            w.p.wait()
            try:
                w.start()
            except RuntimeError as e:
                # Counted here: an exception would end this thread unseen.
                check("worker 0 starts again after a SIGKILL", False, e)
                return
            kills += 1


deciding = threading.Event()


def pause():
    """Once decisions flow, worker 1 is given eight decisions and, while
    their runs' second effects are in flight there, SIGSTOPped past its
    lease (5 s); other workers take the runs over; then it is resumed."""
    global paused
    deciding.wait()
    w = workers[1]
    held = [threading.Thread(target=w.call, args=("POST", "/api/runs/job-%d/approvals/ok" % n, {"decision": "approve"}))
            for n in range(RUNS - 8, RUNS)]
    for t in held:
        t.start()
    time.sleep(0.1)
    with lock:
        paused = w
        w.p.send_signal(signal.SIGSTOP)
    stop_chaos.wait(7)
    with lock:
        w.p.send_signal(signal.SIGCONT)
        paused = None
    for t in held:
        t.join()


def each(n_items, attempt, seconds):
    """attempt(n) -> True when done; retried at any worker until all are done."""
    deadline = time.monotonic() + seconds
    todo = set(range(n_items))
    with ThreadPoolExecutor(16) as pool:
        while todo and time.monotonic() < deadline:
            results = dict(zip(sorted(todo), pool.map(attempt, sorted(todo))))
            todo = {n for n, ok in results.items() if not ok}
            if todo:
                time.sleep(0.2)
    return todo


def start(n):
    code, _ = any_worker().call("POST", "/api/runs", {"workflow": "job", "input": {"n": n}, "run_id": "job-%d" % n})
    return code in (200, 201)


def status(n):
    code, st = any_worker().call("GET", "/api/runs/job-%d" % n)
    return st.get("status") if code == 200 and st else None


def decide(n):
    code, _ = any_worker().call("POST", "/api/runs/job-%d/approvals/ok" % n, {"decision": "approve"})
    return code == 200 or status(n) == "completed"


def completed(n):
    return status(n) == "completed"


threads = [threading.Thread(target=chaos), threading.Thread(target=pause)]
try:
    for t in threads:
        t.start()
    left = each(RUNS, start, 120)
    check("every run was started through some worker", not left, sorted(left)[:10])
    deciding.set()
    left = each(RUNS, decide, 120)
    check("every approval was decided through some worker", not left, sorted(left)[:10])
    left = each(RUNS, completed, 120)
    check("every run completed", not left, sorted(left)[:10])
    stop_chaos.set()
    deciding.set()
    for t in threads:
        t.join()
    check("a worker was killed during the runs", kills >= 3, kills)
    by_key = STAND.stats().get("requests_by_key", {})
    missing = [k for k in ["a-%d" % n for n in range(RUNS)] + ["b-%d" % n for n in range(RUNS)] if k not in by_key]
    check("every effect key reached the receiver", not missing, missing[:10])
    repeats = {k: v for k, v in by_key.items() if v > 1}
    errs = "".join(open(os.path.join(TMP, "w%d.err" % i)).read() for i in range(3))
    print("workers killed %d times; %d keys sent again; %d appends refused after a takeover; %d busy answers"
          % (kills, len(repeats), errs.count("taken over"), errs.count("another worker")), flush=True)
    check("the paused worker, resumed, had its appends to the runs taken from it refused",
          errs.count("taken over") >= 1, errs[-1500:])
    # A key sent again is an effect in doubt when its worker died or paused:
    # retried with the same key (the receiver deduplicates it).
    check("a key is sent again only for effects in doubt (few, at most twice)",
          all(v <= 3 for v in repeats.values()) and len(repeats) <= 8 * (kills + 1), repeats)
    # Runs sharing an effect key, started at once across the workers: the
    # key is claimed in the store (idempotency.h), so one run sends it and
    # the others take its result.
    SHARED = 30

    def start_shared(n):
        code, _ = workers[n % 3].call("POST", "/api/runs",
                                      {"workflow": "shared", "input": {"n": n}, "run_id": "shared-%d" % n})
        return code in (200, 201)

    def shared_done(n):
        code, st = any_worker().call("GET", "/api/runs/shared-%d" % n)
        return code == 200 and st and st.get("status") == "completed"

    with ThreadPoolExecutor(SHARED) as pool:
        started = list(pool.map(start_shared, range(SHARED)))
    check("the runs sharing keys were started", all(started), started)
    left = each(SHARED, shared_done, 60)
    check("every run sharing a key completed", not left, sorted(left)[:10])
    by_key = STAND.stats().get("requests_by_key", {})
    check("each shared key was sent once, by one of the six runs holding it",
          all(by_key.get("s-%d" % k) == 1 for k in range(5)), {k: v for k, v in by_key.items() if k[0] == "s"})
    # The schedule, fired every second by all three workers (killed and
    # paused among them): one run per fire time, each sending its key once
    # (twice only for an effect in doubt at a kill).
    code, ticks = any_worker().call("GET", "/api/runs?workflow=tick")
    ticks = ticks if code == 200 and isinstance(ticks, list) else []
    stamps = sorted(r["run_id"] for r in ticks)
    check("the schedule fired about once a second while the workers ran", len(stamps) >= 15, (code, stamps[:5]))
    left = each(len(stamps), lambda i: (any_worker().call("GET", "/api/runs/" + stamps[i])[1] or {}).get("status")
                == "completed", 60)
    check("every fire's run completed", not left, [stamps[i] for i in sorted(left)][:10])
    # The schedule goes on firing meanwhile: the keys of the runs listed.
    tick_keys = {k: v for k, v in STAND.stats().get("requests_by_key", {}).items() if k.startswith("tick-")}
    listed = ["tick-" + s[len("ticker."):].rstrip("Z") for s in stamps]
    check("each fire's key reached the receiver, none from two workers at once",
          all(k in tick_keys for k in listed) and sum(v - 1 for v in tick_keys.values()) <= kills + 1,
          ([k for k in listed if k not in tick_keys][:5], {k: v for k, v in tick_keys.items() if v > 1}))
    errs = "".join(open(os.path.join(TMP, "w%d.err" % i)).read() for i in range(3))
    check("no worker reported a fire it could not start, nor work that failed",
          "did not start its run" not in errs and "being run by another worker" not in errs
          and "a run's work failed" not in errs, errs[-1500:])
    rc = subprocess.run([AOSRUN, "verify", "--store", URL, "--data-dir", os.path.join(TMP, "verify")],
                        capture_output=True, text=True)
    check("every run's log verifies: no append from a worker that had lost its lease broke a sequence",
          rc.returncode == 0 and "no problems" in rc.stdout, rc.stdout[-800:] + rc.stderr[-500:])
finally:
    stop_chaos.set()
    for w in workers:
        if w.p.poll() is None:
            w.p.send_signal(signal.SIGCONT)
            w.p.send_signal(signal.SIGTERM)
    for w in workers:
        try:
            w.p.wait(20)
        except subprocess.TimeoutExpired:
            w.p.kill()
    STAND.stop()
check.finish(TMP)
