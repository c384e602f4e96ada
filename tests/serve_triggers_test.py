#!/usr/bin/env python3
"""Triggers under aosrun serve: an `every` schedule starts runs by itself
with deterministic ids; a webhook with a bearer token starts a run once per
key (a replayed delivery continues the same run); a webhook signed with
HMAC-SHA256 delivers a signal to a waiting run; wrong or missing auth is
401 with nothing recorded; a serve killed while a schedule was due fires the
missed time once on restart (missed run_once).

Usage: serve_triggers_test.py PATH/TO/aosrun
"""
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

AOSRUN = os.path.abspath(sys.argv[1])
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "standin"))
from harness import Checks  # noqa: E402
TMP = tempfile.mkdtemp(prefix="aos_triggers_")
ENV = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy") and not k.startswith("AOS_")}
ENV.update({"LEAD_TOKEN": "lead-" + os.urandom(6).hex(), "REPLY_SECRET": "reply-" + os.urandom(6).hex()})
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

CHECKS = Checks()
check = CHECKS.check


WF = os.path.join(TMP, "w.aos")
with open(WF, "w") as f:
    f.write('workflow tick(at: string) {\n  output at\n}\n'
            'workflow lead(email: string) {\n  signal r "lead.replied" { timeout 1h }\n'
            '  output {email: email, reply: r.data.text}\n}\n'
            'trigger ticker {\n  every 1s\n  start tick(at: format_time(fired_at, "%H:%M:%S", "UTC"))\n}\n'
            'trigger new_lead {\n  webhook "/hooks/lead"\n  auth bearer(secret("LEAD_TOKEN"))\n'
            '  key request.json.id\n  start lead(email: request.json.email)\n}\n'
            'type Order { id: string  total: money  qty: int = 1 }\n'
            'workflow order(id: string, total: money, qty: int) {\n  output {id: id, total: total, qty: qty}\n}\n'
            'trigger new_order {\n  webhook "/hooks/order"\n  auth bearer(secret("LEAD_TOKEN"))\n  body: Order\n'
            '  key request.json.id\n  start order(id: request.json.id, total: request.json.total, qty: request.json.qty)\n}\n'
            'trigger reply {\n  webhook "/hooks/reply"\n  auth hmac_sha256(secret("REPLY_SECRET"), "X-Signature")\n'
            '  signal "lead.replied" to request.json.run_id with request.json\n}\n')
DATA = os.path.join(TMP, "data")


def start_serve():
    info = os.path.join(DATA, "serve.json")
    if os.path.exists(info):
        os.remove(info)
    p = subprocess.Popen([AOSRUN, "serve", WF, "--data-dir", DATA, "--listen", "127.0.0.1:0"], cwd=TMP, env=ENV,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while not os.path.exists(info):
        if p.poll() is not None or time.monotonic() > deadline:
            sys.exit("FAIL: serve did not start: %s" % (p.stderr.read() if p.poll() is not None else ""))
        time.sleep(0.02)
    return p, json.load(open(info))["address"], open(os.path.join(DATA, "serve.token")).read().strip()


def post(url, path, body, headers=None):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(url + path, data=data, method="POST", headers=headers or {})
    try:
        with OPENER.open(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def runs(url, token, workflow):
    req = urllib.request.Request(url + "/api/runs?workflow=" + workflow, headers={"Authorization": "Bearer " + token})
    with OPENER.open(req, timeout=30) as r:
        return json.load(r)


serve, url, token = start_serve()
try:
    deadline = time.monotonic() + 10
    ticks = []
    while time.monotonic() < deadline and len(ticks) < 2:
        ticks = runs(url, token, "tick")
        time.sleep(0.1)
    check("an every trigger starts runs by itself", len(ticks) >= 2, ticks)
    check("... under deterministic ids ticker.<fire time>", all(r["run_id"].startswith("ticker.2") and
                                                                 r["run_id"].endswith("Z") for r in ticks), ticks)

    bearer = {"Authorization": "Bearer " + ENV["LEAD_TOKEN"]}
    code, body = post(url, "/hooks/lead", {"id": "sub-1", "email": "ada@example.com"})
    check("a webhook without auth is 401", code == 401, (code, body))
    code, body = post(url, "/hooks/lead", {"id": "sub-1", "email": "ada@example.com"},
                      {"Authorization": "Bearer wrong"})
    check("a wrong bearer token is 401", code == 401, (code, body))
    check("... and nothing was started", runs(url, token, "lead") == [])
    code, body = post(url, "/hooks/lead", {"id": "sub-1", "email": "ada@example.com"}, bearer)
    check("the webhook starts its workflow (201), the run id from the key", code == 201
          and body["run_id"] == "new_lead.sub-1" and body["status"] == "waiting", (code, body))
    code, body = post(url, "/hooks/lead", {"id": "sub-1", "email": "ada@example.com"}, bearer)
    check("a replayed delivery continues the same run (200), no second start", code == 200
          and body["run_id"] == "new_lead.sub-1" and len(runs(url, token, "lead")) == 1, (code, body))
    code, body = post(url, "/hooks/lead", b"{not json", bearer)
    check("a body that is not JSON is 400", code == 400, (code, body))
    # body: Order — each delivery is checked against the type before anything is recorded.
    code, body = post(url, "/hooks/order", {"id": "o-1", "total": "twelve"}, bearer)
    check("a delivery that does not fit the body type is 400 naming the field", code == 400
          and "request.json.total" in body["error"]["message"], (code, body))
    code, body = post(url, "/hooks/order", {"total": "12.50 usd"}, bearer)
    check("... a missing field too", code == 400 and "id" in body["error"]["message"], (code, body))
    check("... and nothing was started", runs(url, token, "order") == [])
    code, body = post(url, "/hooks/order", {"id": "o-2", "total": "12.50 usd"}, bearer)
    check("a fitting delivery starts the run, read as the type says (money, the default qty)", code == 201
          and body["status"] == "completed" and body["output"] == {"id": "o-2", "total": {"amount": "12.50", "currency": "usd"}, "qty": 1},
          (code, body))
    code, body = post(url, "/hooks/nothing", {}, bearer)
    check("a path no trigger listens on is 404", code == 404, (code, body))

    reply = json.dumps({"run_id": "new_lead.sub-1", "text": "yes please"}).encode()
    code, body = post(url, "/hooks/reply", reply, {"X-Signature": "sha256=" + "0" * 64})
    check("a webhook with a bad HMAC signature is 401", code == 401, (code, body))
    sig = hmac.new(ENV["REPLY_SECRET"].encode(), reply, hashlib.sha256).hexdigest()
    code, body = post(url, "/hooks/reply", reply, {"X-Signature": "sha256=" + sig})
    check("a signed webhook delivers its signal and the run completes", code == 200
          and body["status"] == "completed" and body["output"] == {"email": "ada@example.com", "reply": "yes please"},
          (code, body))
    code, body = post(url, "/hooks/reply", reply, {"X-Signature": "sha256=" + sig})
    req = urllib.request.Request(url + "/api/runs/new_lead.sub-1/events", headers={"Authorization": "Bearer " + token})
    signals = [e for e in json.load(OPENER.open(req, timeout=30)) if e["type"] == "SignalReceived"]
    check("a sender's retry of a signal delivery is 200 with the run as it is, and signals nothing twice",
          code == 200 and body["status"] == "completed" and len(signals) == 1, (code, body, len(signals)))

    # Killed while the schedule is due: the restarted serve fires the missed
    # time once (missed run_once), then goes on every second.
    before = {r["run_id"] for r in runs(url, token, "tick")}
    serve.send_signal(signal.SIGKILL)
    serve.wait()
    time.sleep(3.5)
    serve, url, token = start_serve()
    time.sleep(0.3)
    after = {r["run_id"] for r in runs(url, token, "tick")}
    new = sorted(after - before)
    check("after downtime, the missed fires run once (not once per missed second)", 1 <= len(new) <= 2, new)
finally:
    serve.send_signal(signal.SIGTERM)
    try:
        rc = serve.wait(timeout=30)
    except subprocess.TimeoutExpired:
        serve.kill()
        rc = None
    check("serve stops cleanly", rc == 0, rc)

CHECKS.finish(TMP)
