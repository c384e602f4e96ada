#!/usr/bin/env python3
"""aosrun serve: a real serve process on a loopback port, driven through its
JSON API. Timers fire by themselves at their due time (no resume), approvals
and signals arrive through the API, the token guards every /api call, bad
requests get their 4xx, a SIGKILLed serve picks up its due times again on
restart, and SIGTERM stops it cleanly.

Usage: serve_test.py PATH/TO/aosrun
Prints 'N passed, M failed' and exits non-zero on any failure.
"""
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
TMP = tempfile.mkdtemp(prefix="aos_serve_")
ENV = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy") and not k.startswith("AOS_")}
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
ENV["NO_PROXY"] = ENV["no_proxy"] = "127.0.0.1,localhost"
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "standin"))
from harness import Standin, Checks  # noqa: E402
STAND = Standin(TMP)

CHECKS = Checks()
check = CHECKS.check


WF = os.path.join(TMP, "w.aos")
with open(WF, "w") as f:
    f.write('type Plan { budget: int }\n'
            'workflow vetted() {\n  approval ok { ask "Plan?" returns Plan approvers ["ada"] }\n'
            '  output ok.data.budget\n}\n'
            'workflow later() {\n  let a = 1\n  wait w for 1h after a\n  output a after w\n}\n'
            'workflow pause(x: int = 1) {\n  wait w for 1s\n  output {x: x} after w\n}\n'
            'workflow gate() {\n  approval ok { ask "go?" show {amount: "12.00 usd"} timeout 1h }\n'
            '  output ok.approved\n}\n'
            'workflow paid() {\n  signal p "invoice.paid" { timeout 1h }\n  output p.data\n}\n'
            'workflow maybe() {\n  signal r "client.replied" { timeout 1s on_timeout null }\n  output {replied: r != null}\n}\n'
            'workflow slow() {\n  step s = http.get("%s/sleep/4000") { timeout 20s }\n  output s.status\n}\n'
            'workflow flaky() {\n  step b = http.get("%s/flaky/serve-retry?times=1&status=404")\n'
            '  output b.json.attempt\n}\n' % (STAND.url, STAND.url))
DATA = os.path.join(TMP, "data")


class Serve:
    def __init__(self):
        info = os.path.join(DATA, "serve.json")
        if os.path.exists(info):
            os.remove(info)
        self.p = subprocess.Popen([AOSRUN, "serve", WF, "--data-dir", DATA, "--listen", "127.0.0.1:0"],
                                  cwd=TMP, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 20
        while not os.path.exists(info):
            if self.p.poll() is not None or time.monotonic() > deadline:
                sys.exit("FAIL: serve did not start: %s" % (self.p.stderr.read() if self.p.poll() is not None else ""))
            time.sleep(0.02)
        self.url = json.load(open(info))["address"]
        self.token = open(os.path.join(DATA, "serve.token")).read().strip()

    def call(self, method, path, body=None, token=True, raw=None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if token:
            req.add_header("Authorization", "Bearer " + (self.token if token is True else token))
        try:
            with OPENER.open(req, timeout=30) as r:
                text = r.read().decode()
                return r.status, json.loads(text) if text.startswith(("{", "[")) else text
        except urllib.error.HTTPError as e:
            text = e.read().decode()
            return e.code, json.loads(text) if text.startswith(("{", "[")) else text


def wait_status(s, run, want, seconds=20):
    deadline = time.monotonic() + seconds
    st = None
    while time.monotonic() < deadline:
        code, st = s.call("GET", "/api/runs/" + run)
        if code == 200 and st.get("status") == want:
            return st
        time.sleep(0.05)
    return st


s = Serve()
try:
    code, body = s.call("GET", "/api/health", token=False)
    check("health answers without a token", code == 200 and body == {"ok": True}, (code, body))
    code, body = s.call("GET", "/api/runs", token=False)
    check("the API needs the token (401)", code == 401 and body["error"]["kind"] == "unauthorized", (code, body))
    code, body = s.call("GET", "/api/runs", token="wrong-token")
    check("a wrong token is 401", code == 401, (code, body))

    code, body = s.call("POST", "/api/runs", {"workflow": "pause", "input": {"x": 7}, "run_id": "p1"})
    check("a start through the API is 201, waiting on its timer", code == 201 and body["status"] == "waiting",
          (code, body))
    st = wait_status(s, "p1", "completed")
    check("the timer fired by itself at its due time", st and st.get("status") == "completed"
          and st.get("output") == {"x": 7}, st)
    code, body = s.call("POST", "/api/runs", {"workflow": "pause", "input": {"x": 7}, "run_id": "p1"})
    check("the same run id again is 200 with the run as it is", code == 200 and body["status"] == "completed",
          (code, body))

    code, body = s.call("POST", "/api/runs", {"workflow": "gate", "run_id": "g1"})
    check("the gate waits", code == 201 and body["status"] == "waiting", (code, body))
    code, inbox = s.call("GET", "/api/inbox")
    item = [i for i in inbox if i["run_id"] == "g1"] if code == 200 else []
    check("the inbox shows the approval with its payload and hash", item and item[0]["show"] == {"amount": "12.00 usd"}
          and item[0]["payload_hash"], inbox)
    code, body = s.call("POST", "/api/runs/g1/approvals/ok", {"decision": "approve", "expect_hash": "stale"})
    check("a decision bound to a stale payload hash is 409", code == 409 and body["error"]["kind"] == "stale_payload",
          (code, body))
    code, body = s.call("POST", "/api/runs/g1/approvals/ok",
                        {"decision": "approve", "expect_hash": item[0]["payload_hash"] if item else "", "as": "ada"})
    check("approving through the API completes the run", code == 200 and body["status"] == "completed"
          and body["output"] is True, (code, body))
    code, body = s.call("POST", "/api/runs/g1/approvals/ok", {"decision": "reject"})
    check("a second decision is refused (409)", code == 409, (code, body))

    # A refusal's status says why (one mapping from the runtime's reasons).
    s.call("POST", "/api/runs", {"workflow": "vetted", "run_id": "v1"})
    code, body = s.call("POST", "/api/runs/v1/approvals/ok", {"decision": "approve", "as": "eve", "data": {"budget": 1}})
    check("a decider who is not an approver is 403 forbidden", code == 403
          and body["error"]["kind"] == "forbidden" and "ada" in body["error"]["message"], (code, body))
    code, body = s.call("POST", "/api/runs/v1/approvals/ok", {"decision": "approve", "as": "ada", "data": {"budget": "x"}})
    check("data that does not fit `returns` is 400", code == 400 and body["error"]["kind"] == "bad_request", (code, body))
    code, body = s.call("POST", "/api/runs/v1/approvals/nope", {"decision": "approve", "as": "ada"})
    check("an approval the run does not have is 404 unknown_name, naming what waits", code == 404
          and body["error"]["kind"] == "unknown_name" and "ok" in body["error"]["message"], (code, body))
    code, body = s.call("POST", "/api/runs/v1/approvals/ok", {"decision": "approve", "as": "ada", "data": {"budget": 9}})
    check("... and the approver's fitting decision completes it", code == 200 and body["output"] == 9, (code, body))

    code, body = s.call("POST", "/api/runs", {"workflow": "paid", "run_id": "s1"})
    code, body = s.call("POST", "/api/runs/s1/signals/invoice.piad", {"data": {"amount": 5}})
    check("a signal no statement takes is refused (409) with a hint", code == 409
          and "did you mean" in body["error"]["message"], (code, body))
    code, body = s.call("POST", "/api/runs/s1/signals/invoice.paid", {"data": {"amount": 5}})
    check("a signal through the API completes the run", code == 200 and body["output"] == {"amount": 5}, (code, body))

    code, body = s.call("POST", "/api/runs", {"workflow": "maybe", "run_id": "m1"})
    st = wait_status(s, "m1", "completed")
    check("a signal with on_timeout null: past its timeout the run goes on (by itself)",
          st and st.get("output") == {"replied": False}, st)

    code, body = s.call("GET", "/api/runs/nosuch")
    check("an unknown run is 404", code == 404 and body["error"]["kind"] == "not_found", (code, body))
    code, body = s.call("POST", "/api/runs", raw=b"{not json")
    check("a body that is not JSON is 400", code == 400, (code, body))
    code, body = s.call("POST", "/api/runs", raw=b"[" + b" " * (2 << 20) + b"]")
    check("an oversized body is 413, too_large", code == 413 and isinstance(body, dict)
          and body["error"]["kind"] == "too_large", (code, body))
    code, body = s.call("POST", "/api/runs", {"workflow": "nosuch"})
    check("an unknown workflow is 404", code == 404, (code, body))
    code, body = s.call("POST", "/api/runs", {"workflow": "pause", "input": {"x": "many"}})
    check("a mistyped input is 400 naming it", code == 400 and "'x'" in body["error"]["message"], (code, body))
    code, events = s.call("GET", "/api/runs/g1/events")
    check("a run's events", code == 200 and events[0]["type"] == "RunStarted" and events[-1]["type"] == "RunCompleted",
          (code, events[:2]))
    code, text = s.call("GET", "/metrics")
    check("/metrics in Prometheus text", code == 200 and 'aos_runs{status="completed"} 5' in text, text)
    check("/metrics: steps, retries, model cost and timer lateness", "aos_steps_completed_total " in text
          and "aos_retries_total " in text and "aos_timer_lateness_seconds_count" in text
          and "aos_timer_lateness_seconds_count 0" not in text, text[-1500:])
    code, otlp = s.call("GET", "/api/runs/g1/trace")
    spans = otlp["resourceSpans"][0]["scopeSpans"][0]["spans"] if code == 200 else []
    check("a run's trace as OTLP/JSON", code == 200 and any(sp["name"].endswith(" ok") for sp in spans), (code, str(otlp)[:300]))
    code, page1 = s.call("GET", "/api/runs?limit=2")
    code2, page2 = s.call("GET", "/api/runs?limit=2&after=" + page1[-1]["run_id"]) if code == 200 and page1 else (0, [])
    check("runs are listed in pages (limit, after)", code == 200 and len(page1) == 2 and code2 == 200
          and len(page2) == 2 and page2[0]["run_id"] > page1[-1]["run_id"], (page1, page2))
    code, body = s.call("GET", "/api/runs?limit=0")
    check("a bad limit is 400", code == 400, (code, body))

    # While serve holds the data directory, reading commands still work.
    p = subprocess.run([AOSRUN, "status", "g1", "--data-dir", DATA, "--json"], capture_output=True, text=True,
                       env=ENV, cwd=TMP, timeout=30)
    check("aosrun status reads while serve runs", p.returncode == 0 and '"completed"' in p.stdout,
          (p.returncode, p.stdout, p.stderr))

    # The CLI's writing commands go through the API while serve holds the
    # directory: same output and exit codes as without it.
    def cli(*args):
        p = subprocess.run([AOSRUN, *args, "--data-dir", DATA], capture_output=True, text=True, env=ENV, cwd=TMP,
                           timeout=60)
        return p.returncode, p.stdout, p.stderr
    s.call("POST", "/api/runs", {"workflow": "gate", "run_id": "g2"})
    rc, out, err = cli("approve", "g2", "ok", "--comment", "via the CLI")
    check("aosrun approve goes through serve (0, the output, the same 'approved' line)", rc == 0
          and out.strip() == "true" and "approved ok of run g2" in err, (rc, out, err))
    rc, out, err = cli("approve", "g2", "ok")
    check("... a second decision is 64 as without serve", rc == 64 and "already decided" in err, (rc, out, err))
    s.call("POST", "/api/runs", {"workflow": "paid", "run_id": "s2"})
    rc, out, err = cli("signal", "s2", "invoice.paid", "--payload", '{"amount": 3}')
    check("aosrun signal goes through serve", rc == 0 and json.loads(out) == {"amount": 3}, (rc, out, err))
    s.call("POST", "/api/runs", {"workflow": "gate", "run_id": "g3"})
    rc, out, err = cli("cancel", "g3")
    check("aosrun cancel goes through serve (0)", rc == 0 and "cancelled" in err, (rc, out, err))
    code, body = s.call("POST", "/api/runs", {"workflow": "flaky", "run_id": "f1"})
    check("a run that fails through the API (its step got 404)", body.get("status") == "failed", (code, body))
    rc, out, err = cli("retry", "f1", "--from", "nosuch")
    check("aosrun retry --from a statement that did not fail goes through serve: 64", rc == 64
          and "did not fail" in err, (rc, out, err))
    rc, out, err = cli("retry", "f1")
    check("aosrun retry goes through serve and completes the run (0, the output)", rc == 0 and out.strip() == "2",
          (rc, out, err))
    rc, out, err = cli("retry", "f1")
    check("... retrying a completed run through serve is 64", rc == 64 and "did not fail" in err, (rc, out, err))
    s.call("POST", "/api/runs", {"workflow": "gate", "run_id": "g4"})
    rc, out, err = cli("approve", "g4", "nope")
    check("an approval the run lacks, through serve, is 64 as without serve (not 66)", rc == 64
          and "no approval 'nope'" in err, (rc, out, err))
    other = os.path.join(TMP, "other.aos")
    with open(other, "w") as f:
        f.write('workflow elsewhere() {\n  output 1\n}\n')
    rc, out, err = cli(other)
    check("starting a workflow serve does not serve is 64 naming it (not 66)", rc == 64
          and "elsewhere" in err, (rc, out, err))
    rc, out, err = cli("approve", "nosuch", "ok")
    check("an unknown run through serve is 66", rc == 66, (rc, out, err))
    rc, out, err = cli(WF, "--workflow", "pause", "--input", "x=3", "--run-id", "cli-start")
    check("aosrun FILE starts through serve (75 waiting on its timer)", rc == 75 and "cli-start" in err, (rc, out, err))
    st = wait_status(s, "cli-start", "completed")
    check("... and serve completes it at its due time", st and st.get("output") == {"x": 3}, st)

    # resume (with and without --upgrade), --no-continue and --batch go
    # through serve too, with the exit codes they have without it.
    s.call("POST", "/api/runs", {"workflow": "later", "run_id": "l1"})
    rc, out, err = cli("resume", "l1")
    check("aosrun resume through serve: still waiting on its hour (75)", rc == 75 and "l1" in err, (rc, out, err))
    blocked = os.path.join(TMP, "later_v2.aos")
    with open(blocked, "w") as f:
        f.write('workflow later() {\n  let a = 2\n  wait w for 1h after a\n  output a after w\n}\n')
    rc, out, err = cli("resume", "l1", "--upgrade", blocked)
    check("an upgrade changing a completed step is refused through serve (65), naming it", rc == 65
          and "a:" in err and "--force" in err, (rc, out, err))
    fine = os.path.join(TMP, "later_v3.aos")
    with open(fine, "w") as f:
        f.write('workflow later() {\n  let a = 1\n  wait w for 1s after a\n  output a + 10 after w\n}\n')
    rc, out, err = cli("resume", "l1", "--upgrade", fine)
    check("an upgrade of pending steps goes through serve", rc in (0, 75) and "upgraded" in err, (rc, out, err))
    code, events = s.call("GET", "/api/runs/l1/events")
    check("... recorded as RunUpgraded", code == 200 and any(e["type"] == "RunUpgraded" for e in events), events[-3:])
    broken = os.path.join(TMP, "later_bad.aos")
    with open(broken, "w") as f:
        f.write('workflow later() {\n  output nope\n}\n')
    rc, out, err = cli("resume", "l1", "--upgrade", broken)
    check("an upgrade to a file that does not check is 65 with its diagnostics", rc == 65 and "nope" in err,
          (rc, out, err))

    s.call("POST", "/api/runs", {"workflow": "gate", "run_id": "g5"})
    rc, out, err = cli("approve", "g5", "ok", "--no-continue")
    check("approve --no-continue through serve: recorded (0), serve continues the run", rc == 0
          and "serve continues it" in err, (rc, out, err))
    st = wait_status(s, "g5", "completed")
    check("... and the run completes without another command", st and st.get("output") is True, st)

    batch = os.path.join(TMP, "batch.jsonl")
    with open(batch, "w") as f:
        f.write('{"x": 1}\n{"x": 2}\n')
    rc, out, err = cli(WF, "--workflow", "pause", "--batch", batch)
    lines = out.split()
    check("--batch through serve: a line per run, each waiting on its timer (75)", rc == 75
          and len(lines) == 4 and lines[1] == "waiting" and lines[0].startswith("b1-"), (rc, out, err))
    for run in lines[0::2]:
        wait_status(s, run, "completed")
    rc, out2, err = cli(WF, "--workflow", "pause", "--batch", batch)
    check("... run again: the same ids, now completed (0)", rc == 0 and out2.split()[0::2] == lines[0::2]
          and out2.split()[1::2] == ["completed", "completed"], (rc, out2, err))

    # SIGHUP reloads the files: a new workflow can be started; a file that
    # does not check is refused and the old ones stay.
    original = open(WF).read()
    with open(WF, "a") as f:
        f.write('workflow added() {\n  output "new"\n}\n')
    s.p.send_signal(signal.SIGHUP)
    code = 0
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        code, body = s.call("POST", "/api/runs", {"workflow": "added"})
        if code == 201:
            break
        time.sleep(0.05)
    check("SIGHUP: a workflow added to the file can be started", code == 201 and body["output"] == "new", (code, body))
    with open(WF, "w") as f:
        f.write(original + "workflow broken() {\n  output nosuch\n}\n")
    s.p.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    code, body = s.call("POST", "/api/runs", {"workflow": "added"})
    check("SIGHUP with a file that does not check: the old workflows stay served", code == 201
          and s.p.poll() is None, (code, body))
    with open(WF, "w") as f:
        f.write(original)
    s.p.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        code, body = s.call("POST", "/api/runs", {"workflow": "added"})
        if code == 404:
            break
        time.sleep(0.05)
    check("SIGHUP: a workflow removed from the file is no longer served (404)", code == 404, (code, body))

    # aosrun reload: the same, and the CLI hears whether the files checked.
    with open(WF, "a") as f:
        f.write('workflow added2() {\n  output "again"\n}\n')
    rc, out, err = cli("reload")
    check("aosrun reload (0): serve reads its files again", rc == 0 and "reloaded 1 files" in err, (rc, out, err))
    code, body = s.call("POST", "/api/runs", {"workflow": "added2"})
    check("... and the new workflow is served at once", code == 201 and body["output"] == "again", (code, body))
    with open(WF, "w") as f:
        f.write(original + "workflow broken() {\n  output nosuch\n}\n")
    rc, out, err = cli("reload")
    check("aosrun reload of a file that does not check: 65 with its diagnostics", rc == 65
          and "nosuch" in err and "w.aos:" in err, (rc, out, err))
    code, body = s.call("POST", "/api/runs", {"workflow": "added2"})
    check("... and serve goes on with what it had", code == 201, (code, body))
    with open(WF, "w") as f:
        f.write(original)
    rc, out, err = cli("reload")
    check("... reload again with the file fixed (0)", rc == 0, (rc, out, err))

    # Slow clients (headers never finished) do not starve the others, and a
    # thousand connections at once are all answered.
    import socket
    import threading
    host, port = s.url[len("http://"):].split(":")
    stalled = []
    for _ in range(30):
        c = socket.create_connection((host, int(port)), timeout=10)
        c.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\n")  # and nothing more
        stalled.append(c)
    code, body = s.call("GET", "/api/health", token=False)
    check("30 stalled clients: serve still answers others", code == 200, (code, body))
    for c in stalled:
        c.close()
    answered = []
    def one():
        try:
            c = socket.create_connection((host, int(port)), timeout=60)
            c.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                chunk = c.recv(4096)
                if not chunk:
                    break
                data += chunk
            c.close()
            answered.append(data.startswith(b"HTTP/1.1 200"))
        except OSError:
            answered.append(False)
    threads = [threading.Thread(target=one) for _ in range(1000)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    check("1,000 connections at once are all answered", len(answered) == 1000 and all(answered),
          (len(answered), answered.count(False)))

    # Runs go at once: while one run waits on a slow call, another run is
    # started, decided and completed.
    import threading
    slow_done = []
    t = threading.Thread(target=lambda: slow_done.append(s.call("POST", "/api/runs", {"workflow": "slow", "run_id": "slow-1"})))
    t.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        code, st = s.call("GET", "/api/runs/slow-1")
        if code == 200:
            break
        time.sleep(0.02)
    s.call("POST", "/api/runs", {"workflow": "gate", "run_id": "g-during"})
    code, body = s.call("POST", "/api/runs/g-during/approvals/ok", {"decision": "approve"})
    code2, slow_now = s.call("GET", "/api/runs/slow-1")
    check("another run completes while one waits on a slow call", code == 200 and body["status"] == "completed"
          and slow_now.get("status") == "running" and not slow_done, (code, body, slow_now))
    t.join(timeout=60)
    check("... and the slow one completes too", slow_done and slow_done[0][1].get("status") == "completed", slow_done)

    # serve.grace: a stop waits for work in hand at most that long.
    gdata = os.path.join(TMP, "grace-data")
    gcfg = os.path.join(TMP, "grace.yaml")
    with open(gcfg, "w") as f:
        f.write("serve: {max_runs: 2, grace: 1s}\n")
    gp = subprocess.Popen([AOSRUN, "serve", WF, "--data-dir", gdata, "--config", gcfg, "--listen", "127.0.0.1:0"],
                          cwd=TMP, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while not os.path.exists(os.path.join(gdata, "serve.json")) and time.monotonic() < deadline:
        time.sleep(0.02)
    gurl = json.load(open(os.path.join(gdata, "serve.json")))["address"]
    gtok = open(os.path.join(gdata, "serve.token")).read().strip()
    def slow_start():
        req = urllib.request.Request(gurl + "/api/runs", method="POST", headers={"Authorization": "Bearer " + gtok},
                                     data=json.dumps({"workflow": "slow", "run_id": "graceful"}).encode())
        try:
            OPENER.open(req, timeout=30).read()
        except Exception:
            pass
    th = threading.Thread(target=slow_start)
    th.start()
    time.sleep(0.5)
    gp.send_signal(signal.SIGTERM)
    try:
        grc = gp.wait(timeout=20)
    except subprocess.TimeoutExpired:
        gp.kill()
        grc = None
    err = gp.stderr.read()
    th.join(timeout=30)
    p = subprocess.run([AOSRUN, "status", "graceful", "--data-dir", gdata, "--json"], capture_output=True, text=True,
                       env=ENV, cwd=TMP, timeout=30)
    check("serve.grace: a stop with a slow call in hand exits (0) after the grace, the run left to resume",
          grc == 0 and "grace" in err and '"running"' in p.stdout, (grc, err[-300:], p.stdout))

    # SIGKILL with a timer pending: a restarted serve fires it.
    code, body = s.call("POST", "/api/runs", {"workflow": "pause", "input": {"x": 9}, "run_id": "p2"})
    s.p.send_signal(signal.SIGKILL)
    s.p.wait()
    s = Serve()
    st = wait_status(s, "p2", "completed")
    check("after a SIGKILL, the restarted serve fires the pending timer", st and st.get("output") == {"x": 9}, st)
finally:
    s.p.send_signal(signal.SIGTERM)
    try:
        rc = s.p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        s.p.kill()
        rc = None
    check("SIGTERM stops serve cleanly (0) and removes serve.json", rc == 0
          and not os.path.exists(os.path.join(DATA, "serve.json")), rc)
    STAND.stop()

# Files served together must not declare the same workflow, trigger or
# webhook path: one would silently replace the other.
dup = os.path.join(TMP, "dup.aos")
with open(dup, "w") as f:
    f.write('workflow gate() {\n  output 1\n}\n')
p = subprocess.run([AOSRUN, "serve", WF, dup, "--data-dir", os.path.join(TMP, "dupdata"), "--listen", "127.0.0.1:0"],
                   capture_output=True, text=True, env=ENV, cwd=TMP, timeout=30)
check("serve refuses (65) two files declaring the same workflow, naming both",
      p.returncode == 65 and "E175" in p.stderr and "dup.aos:1:10" in p.stderr and "w.aos" in p.stderr,
      (p.returncode, p.stderr[-600:]))
h1, h2 = os.path.join(TMP, "h1.aos"), os.path.join(TMP, "h2.aos")
for name, wf in ((h1, "one"), (h2, "two")):
    with open(name, "w") as f:
        f.write('trigger t_%s {\n  webhook "/hooks/in"\n  auth bearer(secret("TOK"))\n  start %s(x: 1)\n}\n'
                'workflow %s(x: int) {\n  output x\n}\n' % (wf, wf, wf))
p = subprocess.run([AOSRUN, "serve", h1, h2, "--data-dir", os.path.join(TMP, "dupdata"), "--listen", "127.0.0.1:0"],
                   capture_output=True, text=True, env=dict(ENV, TOK="t"), cwd=TMP, timeout=30)
check("serve refuses (65) two files listening on the same webhook path",
      p.returncode == 65 and "E175" in p.stderr and "webhook path '/hooks/in'" in p.stderr,
      (p.returncode, p.stderr[-600:]))

# serve DIR serves the directory's .aos files; without arguments, the
# config's workflows: list (relative to the config file).
wdir = os.path.join(TMP, "flows")
os.makedirs(wdir)
for name, wf in (("a.aos", "from_a"), ("b.aos", "from_b")):
    with open(os.path.join(wdir, name), "w") as f:
        f.write('workflow %s() {\n  output "%s"\n}\n' % (wf, wf))
with open(os.path.join(wdir, "notes.txt"), "w") as f:
    f.write("not a workflow")


def serve_and_start(args, data, workflows):
    info = os.path.join(data, "serve.json")
    p = subprocess.Popen([AOSRUN, "serve", *args, "--data-dir", data, "--listen", "127.0.0.1:0"], cwd=TMP, env=ENV,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while not os.path.exists(info) and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    outputs = []
    if os.path.exists(info):
        url = json.load(open(info))["address"]
        tok = open(os.path.join(data, "serve.token")).read().strip()
        for wf in workflows:
            req = urllib.request.Request(url + "/api/runs", data=json.dumps({"workflow": wf}).encode(), method="POST")
            req.add_header("Authorization", "Bearer " + tok)
            try:
                with OPENER.open(req, timeout=30) as r:
                    outputs.append(json.loads(r.read())["output"])
            except urllib.error.HTTPError as e:
                outputs.append(e.code)
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=30)
    return outputs, p.stderr.read()


outputs, err = serve_and_start([wdir], os.path.join(TMP, "dirdata"), ["from_a", "from_b"])
check("serve DIR serves every .aos file in it", outputs == ["from_a", "from_b"], (outputs, err[-400:]))
cfg = os.path.join(TMP, "listed.yaml")
with open(cfg, "w") as f:
    f.write("workflows:\n  - flows/a.aos\n")
outputs, err = serve_and_start(["--config", cfg], os.path.join(TMP, "cfgdata"), ["from_a", "from_b"])
check("serve without files serves the config's workflows: list", outputs == ["from_a", 404], (outputs, err[-400:]))
with open(cfg, "w") as f:
    f.write("workflows: flows/a.aos\n")
p = subprocess.run([AOSRUN, "serve", "--config", cfg, "--data-dir", os.path.join(TMP, "cfgdata2")],
                   capture_output=True, text=True, env=ENV, cwd=TMP, timeout=30)
check("a workflows: that is not a list is a config error naming file, line and key", p.returncode == 64
      and "listed.yaml:1:" in p.stderr and "'workflows'" in p.stderr, (p.returncode, p.stderr))
p = subprocess.run([AOSRUN, "serve", "--data-dir", os.path.join(TMP, "cfgdata3")], capture_output=True, text=True,
                   env=ENV, cwd=TMP, timeout=30)
check("serve with nothing to serve is 64, saying what it takes", p.returncode == 64
      and "workflows:" in p.stderr, (p.returncode, p.stderr))

# SIGTERM while serve is still starting (checking its files, opening the
# store) or just listening: a clean stop at once, not one that waits out the
# grace period (10 s by default). The signal is taken by serve's signal
# thread, which stops the server only once it listens.
for delay in (0.05, 0.1, 0.3):
    sp = subprocess.Popen([AOSRUN, "serve", WF, "--data-dir", os.path.join(TMP, "early-%d" % int(delay * 1000)),
                           "--listen", "127.0.0.1:0"], cwd=TMP, env=ENV, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    time.sleep(delay)
    t0 = time.monotonic()
    sp.send_signal(signal.SIGTERM)
    try:
        src = sp.wait(timeout=8)
    except subprocess.TimeoutExpired:
        sp.kill()
        sp.wait()
        src = None
    serr = sp.stderr.read()
    check("SIGTERM %d ms after serve started: exit 0 within seconds, no grace period waited out" % (delay * 1000),
          src == 0 and "grace period" not in serr and time.monotonic() - t0 < 8, (src, serr[-400:]))

CHECKS.finish(TMP)
