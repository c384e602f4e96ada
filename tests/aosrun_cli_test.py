#!/usr/bin/env python3
"""End-to-end tests of the aosrun binary: real processes, real RocksDB data
directories, real HTTP on loopback against tests/standin/standin.py.

Covers the start/approve/reject/resume/signal/cancel flows, timers with
AOS_CLOCK_OFFSET, exit codes for bad input (64/65/66/73/74), --help, secrets
never reaching the data directory or the output, and `aosrun verify`.

Usage: aosrun_cli_test.py PATH/TO/aosrun   (run by CTest)
Prints 'N passed, M failed' and exits non-zero on any failure.
"""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

if len(sys.argv) != 2:
    sys.exit("usage: aosrun_cli_test.py PATH/TO/aosrun")
AOSRUN = os.path.abspath(sys.argv[1])
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "standin"))
from harness import Checks, Standin, secret_places, show  # noqa: E402
HELLO = os.path.join(ROOT, "examples", "hello.aos")
NEWSLETTER = os.path.join(ROOT, "examples", "weekly_newsletter.aos")

TMP = tempfile.mkdtemp(prefix="aosrun_cli_")
SECRET = "cms-tok-" + os.urandom(12).hex()  # must never be written anywhere
check = Checks()
captured = []  # every stdout and stderr aosrun printed, for the secret check


def base_env():
    env = {k: v for k, v in os.environ.items()
           if not k.lower().endswith("_proxy") and not k.startswith("AOS_")}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


ENV = base_env()


def run(*args, env=None, timeout=60):
    """Runs aosrun in TMP (so no ./aos.yaml is picked up): (rc, stdout, stderr)."""
    e = dict(ENV)
    e.update(env or {})
    p = subprocess.run([AOSRUN, *args], cwd=TMP, capture_output=True, text=True,
                       env=e, timeout=timeout)
    captured.append(p.stdout)
    captured.append(p.stderr)
    return p.returncode, p.stdout, p.stderr


def write(name, text):
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def ddir(name):
    return os.path.join(TMP, "data-" + name)


def last_json(out):
    lines = [l for l in out.splitlines() if l.strip()]
    try:
        return json.loads(lines[-1]) if lines else None
    except ValueError:
        return None


def not_crashed(rc):
    return 0 <= rc < 128


def runs_listing(data):
    """The data directory's runs with their event counts (to see nothing changed)."""
    rc, out, err = run("runs", "--json", "--data", data)
    rows = []
    for line in out.splitlines():
        try:
            r = json.loads(line)
            rows.append((r["run_id"], r["status"], r["events"]))
        except (ValueError, KeyError):
            rows.append(line)
    if rc != 0:
        rows.append(f"rc={rc} stderr={err.strip()}")
    return rc, sorted(rows, key=str)


def log_lines(run_id, data):
    rc, out, err = run("log", run_id, "--json", "--data", data)
    return rc, [l for l in out.splitlines() if l.strip()]


stand = Standin(TMP)
slow = None
try:
    ENV.update({"ANALYTICS_URL": stand.url, "CMS_URL": stand.url, "CMS_TOKEN": SECRET})
    config = write("aos.yaml.test", "models:\n  small:\n    base_url: %s/v1\n    model: any\n"
                   "    price: {input_per_mtok: 0.15, output_per_mtok: 0.60}\n" % stand.url)

    # ---------------------------------------------------------------- hello
    d = ddir("hello")
    rc, out, err = run(HELLO, "--input", "name=Ada", "--data", d)
    check("hello exits 0", rc == 0, show(rc, out, err))
    check("hello prints its output", out.strip() == '{"greeting":"Hello, Ada!","length":11}',
          show(rc, out, err))
    rc, out, err = run(HELLO, "--input", "name=Ada", "--data", d, "--json")
    j = last_json(out)
    check("hello --json", rc == 0 and isinstance(j, dict) and j.get("status") == "completed"
          and j.get("output") == {"greeting": "Hello, Ada!", "length": 11}
          and isinstance(j.get("run_id"), str) and j["run_id"], show(rc, out, err))
    check("hello --json prints one JSON object", len(out.strip().splitlines()) == 1, out)
    check("the data directory is private (0700)", os.path.isdir(d) and (os.stat(d).st_mode & 0o777) == 0o700,
          oct(os.stat(d).st_mode) if os.path.isdir(d) else "no data directory")

    # ----------------------------------------------------------- newsletter
    d = ddir("news")
    week = "2026-W07"
    stand.reset()
    rc, out, err = run(NEWSLETTER, "--config", config, "--data", d, "--input", "week=" + week,
                       "--run-id", "news-1")
    check("newsletter start waits (75)", rc == 75, show(rc, out, err))
    check("newsletter start names the approve command", "aosrun approve news-1 review" in err,
          show(rc, out, err))
    rc, out, err = run("inbox", "--data", d, "--config", config)
    check("inbox lists the approval", rc == 0 and "news-1" in out and "review" in out
          and "Publish" in out, show(rc, out, err))
    rc, out, err = run("inbox", "--data", d, "--json")
    rows = [json.loads(l) for l in out.splitlines() if l.strip()] if rc == 0 else []
    check("inbox --json", len(rows) == 1 and rows[0].get("run_id") == "news-1"
          and rows[0].get("name") == "review" and isinstance(rows[0].get("show"), dict),
          show(rc, out, err))
    check("nothing was posted before approval", stand.stats()["posts"] == 0, stand.stats())

    rc, out, err = run("approve", "news-1", "review", "--data-dir", d, "--config", config)
    j = last_json(out)
    check("approve finishes the run (0)", rc == 0, show(rc, out, err))
    check("approved output has url and approved true", isinstance(j, dict)
          and j.get("approved") is True and str(j.get("url", "")).startswith(stand.url + "/posts/"),
          show(rc, out, err))
    first_url = j.get("url") if isinstance(j, dict) else None
    st = stand.stats()
    import hashlib
    check("the connector's bearer(secret(...)) auth reached the CMS",
          st.get("auth_sha256_by_key", {}).get("publish-" + week)
          == hashlib.sha256(("Bearer " + SECRET).encode()).hexdigest(), st.get("auth_sha256_by_key"))
    check("exactly one publish request", st["requests_by_key"].get("publish-" + week) == 1
          and st["posts"] == 1, st)

    rc, out, err = run("status", "news-1", "--data", d, "--json")
    j = last_json(out)
    check("status --json after approval", rc == 0 and isinstance(j, dict)
          and j.get("status") == "completed" and j.get("output", {}).get("approved") is True,
          show(rc, out, err))

    rc, out, err = run(NEWSLETTER, "--config", config, "--data", d, "--input", "week=" + week,
                       "--run-id", "news-2")
    check("second run for the same week waits", rc == 75, show(rc, out, err))
    rc, out, err = run("approve", "news-2", "review", "--data-dir", d, "--config", config, "--json")
    j = last_json(out)
    check("second run approved completes", rc == 0 and isinstance(j, dict)
          and j.get("status") == "completed" and j.get("output", {}).get("url") == first_url,
          show(rc, out, err))
    st = stand.stats()
    check("second run does not post again", st["posts"] == 1
          and st["requests_by_key"].get("publish-" + week) == 1, st)

    rc, lines = log_lines("news-1", d)
    parsed = []
    for l in lines:
        try:
            parsed.append(json.loads(l))
        except ValueError:
            parsed.append(None)
    check("log --json exits 0 with events", rc == 0 and len(lines) > 5, lines[:3])
    check("every log --json line is JSON", all(isinstance(p, dict) for p in parsed),
          [l for l, p in zip(lines, parsed) if not isinstance(p, dict)][:3])
    types = [p.get("type") for p in parsed if isinstance(p, dict)]
    check("log starts with RunStarted and ends with RunCompleted",
          types[:1] == ["RunStarted"] and types[-1:] == ["RunCompleted"], types)
    check("log records the effect intent before its completion",
          "EffectIntent" in types and "EffectCompleted" in types
          and types.index("EffectIntent") < types.index("EffectCompleted"), types)
    rc, out, err = run("log", "news-1", "--data", d)
    check("log (text) exits 0", rc == 0 and "RunStarted" in out, show(rc, out, err))

    rc, out, err = run("state", "Campaign", "--data", d)
    recs = [json.loads(l) for l in out.splitlines() if l.strip().startswith("{")]
    check("state Campaign prints the record", rc == 0 and len(recs) == 1
          and recs[0].get("id") == "issue-" + week and recs[0].get("week") == week
          and recs[0].get("post_id") == "1" and recs[0].get("approved_by"), show(rc, out, err))

    rc, out, err = run("runs", "--data", d)
    check("runs lists both runs", rc == 0 and "news-1" in out and "news-2" in out,
          show(rc, out, err))

    # reject: the publish effect only runs `when review.approved`, so a
    # rejection skips it and the run completes with approved false.
    wk2 = "2026-W08"
    rc, out, err = run(NEWSLETTER, "--config", config, "--data", d, "--input", "week=" + wk2,
                       "--run-id", "news-rej")
    check("reject flow: start waits", rc == 75, show(rc, out, err))
    rc, out, err = run("reject", "news-rej", "review", "--data-dir", d, "--config", config,
                       "--comment", "not this week")
    j = last_json(out)
    check("reject completes the run (0) with approved false", rc == 0 and isinstance(j, dict)
          and j.get("approved") is False and j.get("url") == "", show(rc, out, err))
    st = stand.stats()
    check("reject: nothing posted", st["posts"] == 1 and "publish-" + wk2 not in st["requests_by_key"],
          st)
    rc, lines = log_lines("news-rej", d)
    types = [json.loads(l).get("type") for l in lines]
    check("reject: no effect intent in the log", "EffectIntent" not in types
          and "ApprovalDecided" in types, types)

    rc, out, err = run("verify", "--data", d)
    check("verify exits 0 after the newsletter", rc == 0 and "no problems" in out,
          show(rc, out, err))

    # Model spending: every outline call recorded with its tokens and cost.
    rc, out, err = run("cost", "--data", d, "--json")
    rows = [json.loads(l) for l in out.splitlines() if l.strip()]
    check("cost --json lists the model calls", rc == 0 and rows and all(r["model"] == "small" for r in rows),
          show(rc, out, err))
    paid = [r for r in rows if r["run_id"] == "news-1"]
    check("cost: tokens and a positive cost at the config's prices",
          paid and paid[0]["tokens_in"] > 0 and paid[0]["tokens_out"] > 0 and float(paid[0]["cost"]["amount"]) > 0,
          rows)
    # The outline step has `cache 7d`: the second run for the same week is a hit.
    hit = [r for r in rows if r["run_id"] == "news-2"]
    check("cost: a cache hit costs nothing", hit and float(hit[0]["cost"]["amount"]) == 0 and hit[0]["tokens_in"] == 0,
          rows)
    # Trace: a timeline, and OTLP/JSON with one span per statement under the run's.
    rc, out, err = run("trace", "news-1", "--data", d)
    check("trace shows the statements with kinds, key and model usage",
          rc == 0 and "publish" in out and "effect" in out and "key publish-" + week in out
          and "approved by" in out and "tokens" in out, show(rc, out, err))
    otlp = os.path.join(TMP, "trace.json")
    rc, out, err = run("trace", "news-1", "--data", d, "--otlp", otlp)
    ok = rc == 0 and os.path.exists(otlp)
    spans = json.load(open(otlp))["resourceSpans"][0]["scopeSpans"][0]["spans"] if ok else []
    root = [sp for sp in spans if "parentSpanId" not in sp]
    check("trace --otlp: a root span and one per statement", ok and len(root) == 1 and len(spans) >= 7
          and all(sp.get("parentSpanId") == root[0]["spanId"] for sp in spans if sp is not root[0]),
          show(rc, out, err))
    check("trace --otlp: ids and times as OTLP wants them",
          all(len(sp["traceId"]) == 32 and len(sp["spanId"]) == 16
              and int(sp["endTimeUnixNano"]) >= int(sp["startTimeUnixNano"]) > 0 for sp in spans), spans[:2])
    rc, out, err = run("trace", "no-such-run", "--data", d)
    check("trace of an unknown run is 66", rc == 66, show(rc, out, err))

    rc, out, err = run("cost", "news-1", "--data", d)
    check("cost RUN prints a table with a total", rc == 0 and "total" in out and "small" in out, show(rc, out, err))
    rc, out, err = run("cost", "--by", "workflow", "--json", "--data", d)
    grouped = [json.loads(l) for l in out.splitlines() if l.strip()]
    check("cost --by workflow: one object per workflow, the same total",
          rc == 0 and [g["workflow"] for g in grouped] == ["weekly_issue"]
          and abs(float(grouped[0]["cost"]["amount"]) - sum(float(r["cost"]["amount"]) for r in rows)) < 1e-9,
          show(rc, out, err))
    today = time.strftime("%Y-%m-%d", time.gmtime())
    rc, out, err = run("cost", "--by", "day", "--data", d)
    check("cost --by day names today", rc == 0 and today in out, show(rc, out, err))
    rc, out, err = run("cost", "--since", "2200-01-01", "--json", "--data", d)
    check("cost --since a later date counts nothing", rc == 0 and out.strip() == "", show(rc, out, err))
    rc, out, err = run("cost", "--by", "week", "--data", d)
    check("cost --by with another word is 64", rc == 64, show(rc, out, err))

    # A decided approval stays decided: 64 and no new event.
    rc, before = log_lines("news-1", d)
    rc2, out, err = run("approve", "news-1", "review", "--data-dir", d)
    rc3, after = log_lines("news-1", d)
    check("deciding a finished run's approval again is 64", rc2 == 64 and "already decided" in err,
          show(rc2, out, err))
    check("a refused decision writes no event", len(before) == len(after) and len(before) > 0,
          f"{len(before)} -> {len(after)}")

    # ------------------------------------------------ two approvals in a row
    two = write("two.aos", 'workflow two() {\n  approval a { ask "first?" }\n'
                '  approval b { ask "second?" } after a\n'
                '  output {a: a.approved, b: b.approved}\n}\n')
    rc, out, err = run(two, "--data", d, "--run-id", "two-1")
    check("two approvals: start waits on a", rc == 75 and "aosrun approve two-1 a" in err,
          show(rc, out, err))
    rc, out, err = run("approve", "two-1", "b", "--data-dir", d)
    check("approving a name that is not waiting is 64", rc == 64 and "'b'" in err
          and "waiting" in err, show(rc, out, err))
    rc, out, err = run("approve", "two-1", "nosuch", "--data-dir", d)
    check("approving an unknown name is 64", rc == 64 and "nosuch" in err, show(rc, out, err))
    rc, out, err = run("approve", "two-1", "a", "--data-dir", d)
    check("approve a: now waits on b", rc == 75 and "aosrun approve two-1 b" in err,
          show(rc, out, err))
    rc, before = log_lines("two-1", d)
    rc2, out, err = run("approve", "two-1", "a", "--data-dir", d)
    rc3, after = log_lines("two-1", d)
    check("a second decision on the same approval is 64", rc2 == 64 and "already decided" in err,
          show(rc2, out, err))
    rc4, out4, err4 = run("reject", "two-1", "a", "--data-dir", d)
    rc5, after2 = log_lines("two-1", d)
    check("a contrary second decision is 64 too", rc4 == 64, show(rc4, out4, err4))
    check("second decisions write no event", len(before) == len(after) == len(after2) > 0,
          f"{len(before)} -> {len(after)} -> {len(after2)}")
    rc, out, err = run("approve", "two-1", "b", "--data-dir", d, "--json")
    j = last_json(out)
    check("approve b completes", rc == 0 and isinstance(j, dict)
          and j.get("output") == {"a": True, "b": True}, show(rc, out, err))

    # --------------------------------------------------- unknown / bad runs
    rc, listing = runs_listing(d)
    for cmd in (["resume", "r-nosuchrun"], ["approve", "r-nosuchrun", "review"],
                ["reject", "r-nosuchrun", "review"], ["status", "r-nosuchrun"],
                ["log", "r-nosuchrun"], ["cancel", "r-nosuchrun"],
                ["signal", "r-nosuchrun", "x"]):
        flag = "--data-dir" if cmd[0] in ("approve", "signal") else "--data"
        rc, out, err = run(*cmd, flag, d)
        check(f"{cmd[0]} of an unknown run is 66", rc == 66 and "r-nosuchrun" in err
              and "no run" in err, show(rc, out, err))
    for bad in ("../etc/passwd", "bad id!", "x" * 200, "a/b"):
        for cmd in (["resume", bad], ["status", bad], ["log", bad], ["approve", bad, "review"]):
            flag = "--data-dir" if cmd[0] == "approve" else "--data"
            rc, out, err = run(*cmd, flag, d)
            check(f"{cmd[0]} of a malformed run id {bad[:20]!r} is 66", rc == 66 and err.strip(),
                  show(rc, out, err))
    rc, listing2 = runs_listing(d)
    check("bad run ids wrote nothing", listing == listing2, f"{listing}\n{listing2}")

    # ------------------------------------------------------ bad inputs etc.
    typed = write("typed.aos", "workflow typed(n: int, s: string = \"x\") {\n"
                  "  output {n: n * 2, s: s}\n}\n")
    # Each refused start must leave its data directory uncreated.
    bad_aos = write("bad.aos", "workflow w() {\n  step outline = http.get(\"http://127.0.0.1:9/x\")\n"
                    "  output outlne.text\n}\n")
    bad_cfg = write("bad.yaml", "models:\n  small:\n    base_url: http://x\n    model: m\n    prise: 1\n")
    refused = [
        ("unknown --input parameter", [HELLO, "--input", "nme=Ada"], {},
         lambda rc, err: rc == 64 and "has no parameter 'nme'" in err),
        ("ill-typed --input (int)", [typed, "--input", "n=many"], {},
         lambda rc, err: rc == 64 and "'many' is not an int" in err),
        ("--input int with a fraction", [typed, "--input", "n=1.5"], {},
         lambda rc, err: rc == 64 and "not an int" in err),
        ("--input int out of range", [typed, "--input", "n=99999999999999999999"], {},
         lambda rc, err: rc == 64 and "not an int" in err),
        ("--input without =", [typed, "--input", "n"], {},
         lambda rc, err: rc == 64 and "NAME=VALUE" in err),
        ("--input-json that is not an object", [typed, "--input-json", "[1]"], {},
         lambda rc, err: rc == 64 and "--input-json" in err),
        ("ill-typed --input-json (string for int)", [typed, "--input-json", '{"n": "seven"}'], {},
         lambda rc, err: rc == 64 and "'n'" in err),
        ("unknown --input-json parameter", [typed, "--input-json", '{"n": 1, "zz": 2}'], {},
         lambda rc, err: rc == 64 and "has no parameter 'zz'" in err),
        ("missing required input", [typed], {},
         lambda rc, err: rc == 64 and "'n'" in err),
        ("invalid .aos (65 with file:line:col)", [bad_aos], {},
         lambda rc, err: rc == 65 and f"{bad_aos}:3:10: error[E100]" in err),
        ("unreadable .aos (74)", [os.path.join(TMP, "missing.aos")], {},
         lambda rc, err: rc == 74 and "cannot read" in err),
        ("malformed --run-id at start", [HELLO, "--run-id", "no spaces please"], {},
         lambda rc, err: rc == 64 and "not a run id" in err),
        ("bad --durability", [HELLO, "--durability", "sometimes"], {},
         lambda rc, err: rc == 64 and "--durability" in err),
        ("a bad config names its file and key", [HELLO, "--config", bad_cfg], {},
         lambda rc, err: rc in (64, 65) and bad_cfg in err and "prise" in err),
        ("a bad AOS_CLOCK_OFFSET", [HELLO], {"AOS_CLOCK_OFFSET": "soon"},
         lambda rc, err: rc == 64 and "AOS_CLOCK_OFFSET" in err),
    ]
    for i, (what, args, extra_env, ok) in enumerate(refused):
        fresh = ddir("refused-%d" % i)
        rc, out, err = run(*args, "--data", fresh, env=extra_env)
        check(f"refused start: {what}", ok(rc, err), show(rc, out, err))
        check(f"refused start writes nothing: {what}", not os.path.exists(fresh),
              sorted(os.listdir(fresh)) if os.path.isdir(fresh) else "a file")
    rc, out, err = run(typed, "--input", "n=21", "--data", ddir("typed"))
    check("a well-typed int input runs", rc == 0 and last_json(out) == {"n": 42, "s": "x"},
          show(rc, out, err))

    # --------------------------------------------------- foreign directory
    foreign = os.path.join(TMP, "foreign")
    os.makedirs(foreign)
    notes = os.path.join(foreign, "notes.txt")
    with open(notes, "w") as f:
        f.write("my notes, not a database\n")
    os.utime(notes, (1000000000, 1000000000))
    for cmd in ([HELLO, "--data", foreign], ["status", "--data", foreign],
                ["verify", "--data", foreign], ["resume", "r-x", "--data", foreign]):
        rc, out, err = run(*cmd)
        check(f"foreign data directory: {os.path.basename(cmd[0])} is 74", rc == 74
              and "not an AOS data directory" in err, show(rc, out, err))
    with open(notes) as f:
        body = f.read()
    check("foreign directory untouched", sorted(os.listdir(foreign)) == ["notes.txt"]
          and body == "my notes, not a database\n" and os.stat(notes).st_mtime == 1000000000,
          os.listdir(foreign))
    afile = os.path.join(TMP, "afile")
    with open(afile, "w") as f:
        f.write("x")
    rc, out, err = run(HELLO, "--data", afile)
    check("a data directory that is a file is 74", rc == 74 and "not a directory" in err,
          show(rc, out, err))

    # ------------------------------------------------------ timers, signals
    timer = write("timer.aos", "workflow pause_then(x: int = 1) {\n  wait pause for 48h\n"
                  "  output {x: x, done: true} after pause\n}\n")
    d = ddir("timers")
    rc, out, err = run(timer, "--data", d, "--run-id", "t-1", "--json")
    j = last_json(out)
    check("timer start waits (75)", rc == 75 and isinstance(j, dict) and j.get("status") == "waiting"
          and any(w.get("kind") == "timer" for w in j.get("waiting_on", [])), show(rc, out, err))
    rc, out, err = run("resume", "t-1", "--data", d)
    check("resume before the timer is due waits again (75)", rc == 75
          and "aosrun resume t-1" in err, show(rc, out, err))
    rc, out, err = run("resume", "t-1", "--data", d, env={"AOS_CLOCK_OFFSET": "47h"})
    check("resume at +47h still waits (75)", rc == 75, show(rc, out, err))
    rc, out, err = run("resume", "t-1", "--data", d, env={"AOS_CLOCK_OFFSET": "49h"})
    check("resume at +49h completes (0)", rc == 0 and last_json(out) == {"x": 1, "done": True},
          show(rc, out, err))
    rc, out, err = run("resume", "t-1", "--data", d)
    check("resuming a completed run reports it (0)", rc == 0
          and last_json(out) == {"x": 1, "done": True}, show(rc, out, err))

    sig = write("sig.aos", 'workflow paywait() {\n  signal paid "invoice.paid"\n'
                "  output {amount: paid.data.amount}\n}\n")
    rc, out, err = run(sig, "--data", d, "--run-id", "s-1")
    check("signal start waits (75)", rc == 75 and "aosrun signal s-1 invoice.paid" in err,
          show(rc, out, err))
    rc, out, err = run("resume", "s-1", "--data", d)
    check("resume without the signal waits (75)", rc == 75, show(rc, out, err))
    rc, out, err = run("signal", "s-1", "invoice.paid", "--data-dir", d, "--payload", '{"amount":5}')
    check("signal continues the run to 0 with its data", rc == 0
          and last_json(out) == {"amount": 5}, show(rc, out, err))
    rc, out, err = run("signal", "s-1", "invoice.paid", "--data-dir", d, "--payload", '{"amount":6}')
    check("signalling an ended run is 64", rc == 64 and "ended" in err, show(rc, out, err))
    rc, out, err = run("signal", "s-1", "invoice.paid", "--data-dir", d, "--payload", "{nope")
    check("signal --data that is not JSON is 64", rc == 64, show(rc, out, err))

    early = write("early.aos", "workflow early() {\n  wait pause for 1h\n"
                  '  signal paid "invoice.paid" after pause\n'
                  "  output {amount: paid.data.amount}\n}\n")
    rc, out, err = run(early, "--data", d, "--run-id", "s-2")
    check("early signal: start waits on the timer", rc == 75, show(rc, out, err))
    rc, out, err = run("signal", "s-2", "invoice.paid", "--data-dir", d, "--payload", '{"amount":7}')
    check("a signal before its statement is accepted; the timer still holds (75)", rc == 75,
          show(rc, out, err))
    rc, out, err = run("resume", "s-2", "--data", d, env={"AOS_CLOCK_OFFSET": "2h"})
    check("the early signal was kept", rc == 0 and last_json(out) == {"amount": 7},
          show(rc, out, err))
    rc, out, err = run("verify", "--data", d)
    check("verify after timers and signals", rc == 0, show(rc, out, err))

    # --------------------------------------------------------------- cancel
    comp = write("comp.aos", 'connector cms = http {\n  base_url: env("CMS_URL")\n'
                 '  allow: ["POST /posts", "DELETE /posts/*"]\n}\n'
                 "workflow pub(t: string) {\n"
                 '  effect publish = cms.post("/posts", json: {title: t}) {\n'
                 '    key "pub-${t}"\n'
                 '    compensate cms.delete("/posts/${publish.json.id}")\n  }\n'
                 '  approval go { ask "keep it?" } after publish\n'
                 "  output {id: publish.json.id, ok: go.approved}\n}\n")
    d = ddir("cancel")
    stand.reset()
    rc, out, err = run(comp, "--data", d, "--run-id", "c-1", "--input", "t=hello")
    check("cancel: run waits on its approval after the effect", rc == 75, show(rc, out, err))
    st = stand.stats()
    check("cancel: the effect happened once", st["requests_by_key"] == {"pub-hello": 1}
          and st["posts"] == 1, st)
    rc, out, err = run("cancel", "c-1", "--data", d)
    check("cancel exits 0", rc == 0 and "cancelled" in err, show(rc, out, err))
    st = stand.stats()
    check("cancel compensated with key <key>:undo", st["requests_by_key"].get("pub-hello:undo") == 1
          and st["requests_by_key"].get("pub-hello") == 1, st)
    check("cancel: the DELETE removed the post", st["posts"] == 0, st)
    rc, out, err = run("status", "c-1", "--data", d, "--json")
    j = last_json(out)
    check("status shows cancelled", rc == 0 and isinstance(j, dict) and j.get("status") == "cancelled",
          show(rc, out, err))
    rc, out, err = run("cancel", "c-1", "--data", d)
    check("cancelling again is 64 and compensates nothing", rc == 64
          and stand.stats()["requests_by_key"].get("pub-hello:undo") == 1, show(rc, out, err))
    rc, out, err = run("approve", "c-1", "go", "--data-dir", d)
    check("approving a cancelled run is refused (64)", rc == 64, show(rc, out, err))
    rc, out, err = run("verify", "--data", d)
    check("verify after cancel", rc == 0, show(rc, out, err))

    # ------------------------------------------- a data directory in use: 73
    slow = Standin(TMP, "--delay-ms", "3000")
    slow_aos = write("slow.aos", "workflow slow(base: string) {\n"
                     '  step a = http.get("${base}/effects/slow") { timeout 20s }\n'
                     "  output {status: a.status}\n}\n")
    d = ddir("busy")
    e = dict(ENV)
    bg = subprocess.Popen([AOSRUN, slow_aos, "--data", d, "--run-id", "busy-1",
                           "--input", "base=" + slow.url], cwd=TMP, env=e,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 10
    while not os.path.exists(os.path.join(d, "CURRENT")) and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.4)  # well inside the 3 s the stand-in takes to answer
    in_flight = bg.poll() is None
    rc, out, err = run("status", "--data", d)
    rc2, out2, err2 = run("status", "busy-1", "--data", d)
    rc3, out3, err3 = run(slow_aos, "--data", d, "--input", "base=" + slow.url)
    rc4, out4, err4 = run("log", "busy-1", "--data", d, "--json")
    rc5, out5, err5 = run("cancel", "busy-1", "--data", d)
    check("the first process was still running", in_flight and bg.poll() is None)
    check("status on a data directory in use reads a view of it (0)", rc == 0 and "busy-1" in out
          and "running" in out, show(rc, out, err))
    check("status RUN on a data directory in use shows it running", rc2 == 0 and "running" in out2,
          show(rc2, out2, err2))
    check("log RUN while it runs shows its events so far", rc4 == 0 and '"RunStarted"' in out4
          and '"AttemptStarted"' in out4, show(rc4, out4, err4))
    check("a command that writes (cancel) on a data directory in use is 73", rc5 == 73 and "in use" in err5,
          show(rc5, out5, err5))
    check("a second start on a data directory in use is 73", rc3 == 73, show(rc3, out3, err3))
    bout, berr = bg.communicate(timeout=30)
    captured += [bout, berr]
    check("the first process finished normally", bg.returncode == 0
          and json.loads(bout.strip().splitlines()[-1]) == {"status": 200}, show(bg.returncode, bout, berr))
    rc, out, err = run("status", "busy-1", "--data", d)
    check("after it, the directory is free", rc == 0 and "completed" in out, show(rc, out, err))

    # ------------------------------------------------- corrupted directories
    def corrupt(dirpath, how):
        files = glob.glob(os.path.join(dirpath, "*.sst")) + glob.glob(os.path.join(dirpath, "*.log"))
        for f in files:
            n = os.path.getsize(f)
            if n == 0:
                continue
            if how == "truncate":
                os.truncate(f, n // 2)
            else:
                with open(f, "r+b") as fh:
                    fh.seek(n // 2)
                    fh.write(b"\xa5" * min(64, n - n // 2))
        return [os.path.basename(f) for f in files]

    def make_dir(name, processes):
        dd = ddir(name)
        # Several processes leave flushed *.sst files and a WAL; one leaves a WAL only.
        run(timer, "--data", dd, "--run-id", "k-1")
        if processes > 1:
            run(HELLO, "--data", dd, "--run-id", "k-2", "--input", "name=Corrupt")
            run("resume", "k-1", "--data", dd)
        return dd

    for name, processes, how in (("overwrite", 3, "overwrite"), ("truncate", 3, "truncate"),
                                 ("wal-only", 1, "overwrite"), ("wal-only-trunc", 1, "truncate")):
        dd = make_dir(name, processes)
        rc, out, err = run("status", "k-1", "--data", dd)
        check(f"corrupt/{name}: the run exists before damage", rc == 0, show(rc, out, err))
        files = corrupt(dd, how)
        check(f"corrupt/{name}: there were *.sst or *.log files to damage", files, os.listdir(dd))
        rcv, outv, errv = run("verify", "--data", dd)
        rcs, outs, errs = run("status", "k-1", "--data", dd)
        detail = f"  damaged {files}\n verify:\n{show(rcv, outv, errv)}\n status k-1:\n{show(rcs, outs, errs)}"
        check(f"corrupt/{name}: no crash", not_crashed(rcv) and not_crashed(rcs), detail)
        check(f"corrupt/{name}: verify reports the damage (74) with a message",
              rcv == 74 and (errv + outv).strip(), detail)
        check(f"corrupt/{name}: status does not call the run fine", rcs != 0 and errs.strip(), detail)
        rc, out, err = run("resume", "k-1", "--data", dd)
        check(f"corrupt/{name}: resume refuses (74) rather than continue a damaged run",
              rc == 74 and err.strip(), show(rc, out, err))

    # -------------------------------------------------------------- help etc.
    for cmd in ("start", "resume", "approve", "reject", "signal", "status", "runs", "inbox",
                "log", "state", "cancel", "verify"):
        args = ["--help"] if cmd == "start" else [cmd, "--help"]
        rc, out, err = run(*args)
        want = "start a run" if cmd == "start" else "aosrun " + cmd
        check(f"{' '.join(args)} prints help", rc == 0 and want in out, show(rc, out, err))
        rc, out, err = run(*([] if cmd == "start" else [cmd]), "-h")
        check(f"{cmd} -h prints help", rc == 0 and out.strip(), show(rc, out, err))
    rc, out, err = run(HELLO, "--help")
    check("FILE --help shows start's options", rc == 0 and "--input" in out and "--run-id" in out,
          show(rc, out, err))
    rc, out, err = run("help")
    check("aosrun help exits 0", rc == 0 and "usage:" in out, show(rc, out, err))
    rc, out, err = run()
    check("no arguments is a usage error (64)", rc == 64 and "usage:" in (out + err),
          show(rc, out, err))
    for args in (["--frobnicate", HELLO], ["status", "--frobnicate"], ["verify", "--nope"],
                 ["approve", "r-x", "a", "--colour", "red"]):
        rc, out, err = run(*args)
        check(f"unknown option in {args[0]} is 64", rc == 64 and "unknown option" in err,
              show(rc, out, err))
    for args in (["resume"], ["approve", "r-x"], ["log"], ["state"], ["cancel"],
                 ["signal", "r-x"], ["resume", "a", "b"], [HELLO, HELLO], ["--data"]):
        rc, out, err = run(*args)
        check(f"wrong arguments {args} is 64", rc == 64, show(rc, out, err))

    # ------------------------------------------------------ secrets file
    file_secret = "file-secret-" + os.urandom(8).hex()
    sdir = os.path.join(TMP, "secrets")
    os.makedirs(sdir, exist_ok=True)
    with open(os.path.join(sdir, "secrets.env"), "w") as f:
        f.write("# test secrets\nFILE_TOKEN=%s\n" % file_secret)
    scfg = os.path.join(sdir, "aos.yaml")
    with open(scfg, "w") as f:
        f.write("secrets_file: secrets.env\n")
    swf = write("secret_len.aos", """workflow s() {
  let n = size(secret("FILE_TOKEN"))
  output {length: n}
}
""")
    sdata = ddir("secrets")
    rc, out, err = run(swf, "--config", scfg, "--data", sdata, "--json")
    o = last_json(out) or {}
    check("secret() reads the config's secrets_file", rc == 0 and o.get("output") == {"length": len(file_secret)},
          show(rc, out, err))
    leaked = secret_places(sdata, file_secret.encode())
    check("a secret from the secrets file is not in the data directory (files and decoded records)",
          not leaked, leaked)
    check("... nor in the output", file_secret not in out + err)
    with open(scfg, "w") as f:
        f.write("secrets_file: missing.env\n")
    rc, out, err = run(swf, "--config", scfg, "--data", sdata)
    check("a missing secrets file is a config error naming file and line", rc == 64 and "aos.yaml:1:" in err
          and "secrets file" in err, show(rc, out, err))
    with open(os.path.join(sdir, "bad.env"), "w") as f:
        f.write("OK=1\nthis line has no equals sign %s\n" % file_secret)
    with open(scfg, "w") as f:
        f.write("secrets_file: bad.env\n")
    rc, out, err = run(swf, "--config", scfg, "--data", sdata)
    check("a bad secrets line names the file and line, not the value", rc == 64 and "bad.env:2:" in err
          and file_secret not in err, show(rc, out, err))

    # ------------------------------------------------------ payload binding
    gwf = write("gate_hash.aos", 'workflow g() {\n  approval ok { ask "Go?" show {n: 1} }\n  output ok.approved\n}\n')
    gdata = ddir("gate-hash")
    run(gwf, "--data", gdata, "--run-id", "gh")
    rc, out, err = run("inbox", "--json", "--data", gdata)
    items = [json.loads(l) for l in out.splitlines() if l.strip()]
    h = items[0].get("payload_hash", "") if items else ""
    check("inbox --json shows the payload hash", len(h) == 16, out)
    rc, out, err = run("approve", "gh", "ok", "--data-dir", gdata, "--expect-hash", "0" * 16)
    check("approve --expect-hash with another hash is refused (64)", rc == 64 and "look again" in err,
          show(rc, out, err))
    rc, out, err = run("approve", "gh", "ok", "--data-dir", gdata, "--expect-hash", h)
    check("approve --expect-hash with the shown hash decides", rc == 0, show(rc, out, err))

    # ------------------------------------------------------ approvers, returns
    awf = write("approvers.aos", """type Plan { budget: int  note: string = "" }
workflow a() {
  approval ok { ask "Plan?" returns Plan approvers ["ada", "bob"] }
  output {by: ok.by, budget: ok.data.budget, note: ok.data.note}
}
""")
    adata = ddir("approvers")
    rc, out, err = run(awf, "--data", adata, "--run-id", "ap")
    check("approvers: the run waits", rc == 75, show(rc, out, err))
    rc, out, err = run("approve", "ap", "ok", "--data-dir", adata, "--as", "eve", "--payload", '{"budget": 5}')
    check("approvers: someone else may not decide (64)", rc == 64 and "may not decide" in err and "ada, bob" in err,
          show(rc, out, err))
    rc, out, err = run("approve", "ap", "ok", "--data-dir", adata, "--as", "ada", "--payload", '{"budget": "lots"}')
    check("returns: --data that does not fit is refused (64)", rc == 64 and "budget: expected an integer" in err,
          show(rc, out, err))
    rc, out, err = run("approve", "ap", "ok", "--data-dir", adata, "--as", "ada", "--payload", '{"budget": 5}', "--json")
    o = last_json(out) or {}
    check("approvers and returns: ada decides with typed data",
          rc == 0 and o.get("output") == {"by": "ada", "budget": 5, "note": ""}, show(rc, out, err))

    # ------------------------------------------------------ upgrades
    v1 = write("up_v1.aos", """workflow up() {
  let a = 1
  approval gate { ask "Go?" }
  let b = a + 1 after gate
  output {a: a, b: b}
}
""")
    v2_ok = write("up_v2_ok.aos", """workflow up() {
  let a = 1
  approval gate { ask "Go?" }
  let b = a + 10 after gate
  let c = b * 2
  output {a: a, b: b, c: c}
}
""")
    v2_bad = write("up_v2_bad.aos", """workflow up() {
  let a = 2
  approval gate { ask "Go?" }
  let b = a + 1 after gate
  output {a: a, b: b}
}
""")
    data = ddir("upgrade")
    rc, out, err = run(v1, "--data", data, "--run-id", "up-1")
    check("upgrade: v1 waits at the gate", rc == 75, show(rc, out, err))
    rc, out, err = run("approve", "up-1", "gate", "--data-dir", data, "--no-continue")
    check("upgrade: decision recorded without continuing", rc == 0, show(rc, out, err))
    events_before = len(log_lines("up-1", data)[1])
    rc, out, err = run("resume", "up-1", "--data", data, "--upgrade", v2_bad)
    check("upgrade: changing a completed statement is refused with 65", rc == 65, show(rc, out, err))
    check("upgrade: the refusal names the statement", "a: completed in this run" in err, err)
    check("upgrade: a refusal writes nothing", len(log_lines("up-1", data)[1]) == events_before)
    acheck = os.path.join(os.path.dirname(AOSRUN), "aoscheck")
    check("aoscheck is built beside aosrun", os.path.exists(acheck), acheck)
    if os.path.exists(acheck):
        p = subprocess.run([acheck, v2_bad, "--against", "up-1", "--data", data],
                           capture_output=True, text=True, cwd=TMP, env=ENV)
        check("aoscheck --against shows the blocked upgrade (65)", p.returncode == 65 and "a:" in p.stdout,
              show(p.returncode, p.stdout, p.stderr))
        p = subprocess.run([acheck, v2_ok, "--against", "up-1", "--data", data],
                           capture_output=True, text=True, cwd=TMP, env=ENV)
        check("aoscheck --against accepts a safe upgrade (0)", p.returncode == 0, show(p.returncode, p.stdout, p.stderr))
    rc, out, err = run("resume", "up-1", "--data", data, "--upgrade", v2_ok, "--json")
    o = last_json(out) or {}
    check("upgrade: pending statements take the new definition",
          rc == 0 and o.get("output") == {"a": 1, "b": 11, "c": 22}, show(rc, out, err))
    data = ddir("upgrade-force")
    run(v1, "--data", data, "--run-id", "up-2")
    run("approve", "up-2", "gate", "--data-dir", data, "--no-continue")
    rc, out, err = run("resume", "up-2", "--data", data, "--upgrade", v2_bad, "--force", "--json")
    o = last_json(out) or {}
    check("upgrade --force: completed steps keep their recorded results",
          rc == 0 and o.get("output") == {"a": 1, "b": 2}, show(rc, out, err))
    types = [json.loads(l)["type"] for l in log_lines("up-2", data)[1]]
    check("upgrade --force is recorded as RunUpgraded", "RunUpgraded" in types, types)
    rc, out, err = run("resume", "up-2", "--data", data, "--force")
    check("--force without --upgrade is a usage error", rc == 64, show(rc, out, err))

    # ------------------------------------------ serve is aosrun-serve beside it
    # `aosrun serve` becomes the aosrun-serve executable next to aosrun; an
    # aosrun copied alone says so instead of failing obscurely.
    lone = os.path.join(TMP, "lone")
    os.makedirs(lone)
    shutil.copy(AOSRUN, os.path.join(lone, "aosrun"))
    p = subprocess.run([os.path.join(lone, "aosrun"), "serve", HELLO, "--data", ddir("lone")], cwd=TMP,
                       capture_output=True, text=True, env=ENV, timeout=60)
    check("aosrun serve without aosrun-serve beside it: 74 naming the missing executable",
          p.returncode == 74 and "aosrun-serve" in p.stderr and "could not be started" in p.stderr,
          show(p.returncode, p.stdout, p.stderr))
    check("aosrun-serve is built beside aosrun", os.access(os.path.join(os.path.dirname(AOSRUN), "aosrun-serve"),
                                                          os.X_OK))

    # What aosrun loads at every start (the dynamic loader's own list, with
    # what its libraries load in turn): not the libraries only serve or a
    # PostgreSQL store need (aosrun-serve's, or loaded on first use).
    def needed(path):
        p = subprocess.run([path], capture_output=True, text=True,
                           env=dict(ENV, LD_TRACE_LOADED_OBJECTS="1", LC_ALL="C"))
        return [line.split()[0] for line in p.stdout.splitlines() if line.strip()]
    libs = needed(AOSRUN)
    check("the dynamic loader lists aosrun's libraries", any(l.startswith("libc.so") for l in libs), libs)
    for lib in ("libpq", "libcurl", "libcpp-httplib", "libssl", "libcrypto"):
        check("aosrun does not load %s at start" % lib, not any(l.startswith(lib) for l in libs), libs)
    serve_libs = needed(os.path.join(os.path.dirname(AOSRUN), "aosrun-serve"))
    check("aosrun-serve links the HTTP server", any(l.startswith("libcpp-httplib") for l in serve_libs), serve_libs)

    # ------------------------------------------------------ no secret anywhere
    # Decoded too: RocksDB compresses its files, so a secret stored after a
    # look-alike can be a back-reference that a byte search of the file misses.
    leaks = secret_places(TMP, SECRET.encode())
    check("the secret is in no file and no decoded record under the test's directories", not leaks, leaks)
    check("the secret is in no output", not any(SECRET in c for c in captured),
          [c[:200] for c in captured if SECRET in c][:2])
finally:
    stand.stop()
    if slow:
        slow.stop()

check.finish(TMP)
