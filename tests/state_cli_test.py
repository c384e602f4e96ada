#!/usr/bin/env python3
"""The canonical-state commands of aosrun on real data directories
(state.md): entity schemas kept in the data directory (a file that declares
an entity otherwise is refused, 65, with the difference; `aosrun schema`),
identity merges seen from the command line.

Usage: state_cli_test.py PATH/TO/aosrun   (run by CTest)
Prints 'N passed, M failed' and exits non-zero on any failure.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

if len(sys.argv) != 2:
    sys.exit("usage: state_cli_test.py PATH/TO/aosrun")
AOSRUN = os.path.abspath(sys.argv[1])
TMP = tempfile.mkdtemp(prefix="state_cli_")
ENV = {k: v for k, v in os.environ.items() if not k.startswith("AOS_")}
passed = failed = 0


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL: %s\n  %s" % (name, str(detail)[:1500]), flush=True)


def run(*args):
    p = subprocess.run([AOSRUN, *args], cwd=TMP, env=ENV, capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def show(rc, out, err):
    return "rc=%d\nstdout=%s\nstderr=%s" % (rc, out[-800:], err[-800:])


def write(name, text):
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        f.write(text)
    return path


LEAD = "entity Lead {\n  key email: string\n  name: string?\n  score: double = 0.0\n}\n"
UPSERT = 'workflow w() {\n  step u = Lead.upsert({email: "a@x", name: "A"})\n  output u.email\n}\n'


def schemas():
    data = os.path.join(TMP, "schemas")
    v1 = write("v1.aos", LEAD + UPSERT)
    rc, out, err = run(v1, "--data", data)
    check("the first run keeps Lead's schema", rc == 0, show(rc, out, err))
    rc, out, err = run("schema", "--data", data)
    check("aosrun schema shows the kept declaration",
          rc == 0 and "entity Lead {" in out and "score: double = 0.0" in out, show(rc, out, err))
    rc, out, err = run("schema", "Lead", "--json", "--data", data)
    try:
        got = json.loads(out)
    except ValueError:
        got = None
    check("aosrun schema --json", rc == 0 and isinstance(got, dict) and "key email: string" in got.get("Lead", ""),
          show(rc, out, err))
    rc, out, err = run("schema", "Nobody", "--data", data)
    check("aosrun schema of an unknown entity is 66", rc == 66 and "no stored schema for Nobody" in err,
          show(rc, out, err))
    retyped = write("v2.aos", LEAD.replace("score: double = 0.0", "score: int = 0") + UPSERT)
    rc, out, err = run(retyped, "--data", data)
    check("a file declaring Lead with another shape is refused (65) with the difference",
          rc == 65 and "- score: double   (stored)" in err and "+ score: int   (this file)" in err,
          show(rc, out, err))
    rc, out, err = run("runs", "--json", "--data", data)
    check("the refused file started no run", rc == 0 and len([l for l in out.splitlines() if l.strip()]) == 1,
          show(rc, out, err))
    same = write("v3.aos", "entity Lead {\n  key email: string\n  score: double = 1.0\n"
                           "  identity name: string?\n  index score\n}\n" + UPSERT)
    rc, out, err = run(same, "--data", data)
    check("identities, defaults, field order and indexes may change", rc == 0, show(rc, out, err))


def merges():
    data = os.path.join(TMP, "merges")
    sub = ("entity Subscriber {\n  key id: string\n  identity email: string?\n  identity handle: string?\n"
           "  sources: list<string> = []\n}\n")
    wf = write("merge.aos", sub + "workflow m() {\n"
               '  step a = Subscriber.upsert({email: "ann@x", sources: ["mail"]})\n'
               '  step b = Subscriber.upsert({handle: "@ann", sources: ["social"]}) after a\n'
               '  step c = Subscriber.upsert({email: "ann@x", handle: "@ann"}) after b\n'
               '  step k = Subscriber.resolve({handle: "@ann"}) after c\n'
               "  output {key: k, sources: c.sources}\n}\n")
    rc, out, err = run(wf, "--data", data, "--run-id", "m-1", "--json")
    try:
        o = json.loads(out.splitlines()[-1])["output"]
    except (ValueError, IndexError, KeyError, TypeError):
        o = None
    check("a write joining email and handle merges the two records",
          rc == 0 and o == {"key": "ann@x", "sources": ["mail", "social"]}, show(rc, out, err))
    rc, out, err = run("state", "Subscriber", "--data", data)
    check("one Subscriber is left", rc == 0 and len(out.strip().splitlines()) == 1, show(rc, out, err))
    rc, out, err = run("log", "m-1", "--json", "--data", data)
    merged = [json.loads(l) for l in out.splitlines() if '"EntitiesMerged"' in l]
    check("the log records EntitiesMerged", rc == 0 and len(merged) == 1, show(rc, out, err))


try:
    schemas()
    merges()
finally:
    if failed == 0:
        shutil.rmtree(TMP, ignore_errors=True)
    else:
        print("(data kept in %s)" % TMP)
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
