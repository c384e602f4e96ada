#!/usr/bin/env python3
"""Regression tests for the hardening issue: each check fails on the code
before its fix. Real aosrun/aoscheck processes, real RocksDB data
directories, real HTTP and SMTP on loopback.

Usage: hardening_test.py PATH/TO/aosrun PATH/TO/aoscheck   (run by CTest)
Prints 'N passed, M failed' and exits non-zero on any failure.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

if len(sys.argv) != 3:
    sys.exit("usage: hardening_test.py PATH/TO/aosrun PATH/TO/aoscheck")
AOSRUN = os.path.abspath(sys.argv[1])
AOSCHECK = os.path.abspath(sys.argv[2])
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "standin"))
from harness import Standin, secret_places, Checks  # noqa: E402

TMP = tempfile.mkdtemp(prefix="aos_hardening_")
ENV = {k: v for k, v in os.environ.items()
       if not k.lower().endswith("_proxy") and not k.startswith("AOS_")}
ENV["NO_PROXY"] = ENV["no_proxy"] = "127.0.0.1,localhost"

CHECKS = Checks()
check = CHECKS.check


def run(*args, cwd=None, env=None, timeout=60, tool=None):
    e = dict(ENV)
    e.update(env or {})
    p = subprocess.run([tool or AOSRUN, *args], cwd=cwd or TMP, capture_output=True, text=True,
                       env=e, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def check_tool(*args, **kw):
    return run(*args, tool=AOSCHECK, **kw)


def show(rc, out, err):
    return f"rc={rc}\n  stdout={out[-1200:]!r}\n  stderr={err[-1200:]!r}"


def write(name, text):
    path = os.path.join(TMP, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    return path


def last_json(out):
    lines = [l for l in out.splitlines() if l.strip()]
    try:
        return json.loads(lines[-1]) if lines else None
    except ValueError:
        return None


def events(run_id, data):
    rc, out, err = run("log", run_id, "--json", "--data", data)
    return [json.loads(l) for l in out.splitlines() if l.strip()]


def traced(args, data):
    """Runs aosrun under strace: (rc, [(kind, target, text)]) in order, kind
    "wal-write", "wal-sync" (fsync/fdatasync of data/NNNNNN.log) or "out"
    (a write to stdout or stderr, with its text)."""
    trace = os.path.join(TMP, "strace-%d.txt" % len(os.listdir(TMP)))
    p = subprocess.run(["strace", "-f", "-qq", "-y", "-s", "200", "-e", "trace=write,fsync,fdatasync",
                        "-o", trace, AOSRUN, *args], cwd=TMP, env=ENV, capture_output=True, text=True, timeout=120)
    import re
    wal = re.compile(r"<" + re.escape(os.path.realpath(data)) + r"/\d+\.log>")
    steps = []
    for line in open(trace, errors="replace"):
        m = re.search(r"\b(write|fsync|fdatasync)\((\d+)(<[^>]*>)?(.*)", line)
        if not m:
            continue
        call, fd, path, rest = m.group(1), m.group(2), m.group(3) or "", m.group(4)
        if call == "write" and fd in ("1", "2"):
            steps.append(("out", fd, rest))
        elif wal.search(path):
            steps.append(("wal-write" if call == "write" else "wal-sync", path, ""))
    return p.returncode, steps


def synced_before(steps, pred):
    """Whether every WAL write before the first output matching pred was
    followed by a WAL sync before that output."""
    pending = False
    for kind, _, text in steps:
        if kind == "wal-write":
            pending = True
        elif kind == "wal-sync":
            pending = False
        elif kind == "out" and pred(text):
            return not pending
    return False  # the output never came


stand = Standin(TMP)
try:
    ENV.update({"CMS_URL": stand.url})

    # 1. data_dir in aos.yaml is relative to the config file, so a run
    # started from another working directory finds the same data directory.
    conf = write("proj/aos.yaml", "data_dir: state\n")
    wf = write("proj/wf/count.aos",
               'workflow count(n: int) {\n'
               '  effect post = http.post("%s/effects/count", json: {n: n}) { key "count-${n}" }\n'
               '  output post.status\n}\n' % stand.url)
    os.makedirs(os.path.join(TMP, "elsewhere"))
    rc, out, err = run(wf, "--config", conf, "--input", "n=1", "--run-id", "c-1",
                       cwd=os.path.join(TMP, "proj"))
    check("1: a run from the config's directory", rc == 0, show(rc, out, err))
    rc, out, err = run("../proj/wf/count.aos", "--config", "../proj/aos.yaml", "--input", "n=1",
                       "--run-id", "c-1", cwd=os.path.join(TMP, "elsewhere"))
    check("1: the same run id from elsewhere continues the same run (already completed)",
          rc == 0 and "exists" in err, show(rc, out, err))
    check("1: the data directory is beside the config, none in the working directory",
          os.path.isdir(os.path.join(TMP, "proj", "state"))
          and not os.path.exists(os.path.join(TMP, "elsewhere", "state"))
          and not os.path.exists(os.path.join(TMP, "elsewhere", ".aos")),
          sorted(os.listdir(os.path.join(TMP, "elsewhere"))))
    check("1: the effect reached the receiver once",
          stand.stats()["requests_by_key"].get("count-1") == 1, stand.stats())

    # 9. A secrets file that is a device or a directory is refused at once.
    for what, target in (("/dev/zero", "/dev/zero"), ("a directory", TMP)):
        cfg = write("secrets-%d.yaml" % len(what), "secrets_file: %s\n" % target)
        t0 = time.monotonic()
        rc, out, err = run(os.path.join(ROOT, "examples", "hello.aos"), "--config", cfg,
                           "--input", "name=Ada", "--data", os.path.join(TMP, "d-sec"), timeout=20)
        check(f"9: secrets_file {what} is refused by aosrun", rc == 64 and "not a regular file" in err
              and cfg + ":1:" in err and time.monotonic() - t0 < 10, show(rc, out, err))
        rc, out, err = check_tool("--config", cfg, os.path.join(ROOT, "examples", "hello.aos"), timeout=20)
        check(f"9: secrets_file {what} is refused by aoscheck", rc == 65 and "not a regular file" in err,
              show(rc, out, err))

    # 17. A config that cannot be read is an I/O error (74) for both tools.
    missing = os.path.join(TMP, "missing.yaml")
    rc, out, err = check_tool("--config", missing, os.path.join(ROOT, "examples", "hello.aos"))
    check("17: aoscheck --config missing.yaml exits 74", rc == 74 and "cannot read" in err, show(rc, out, err))
    rc, out, err = run(os.path.join(ROOT, "examples", "hello.aos"), "--config", missing,
                       "--data", os.path.join(TMP, "d-missing"))
    check("17: aosrun --config missing.yaml exits 74", rc == 74 and "cannot read" in err, show(rc, out, err))

    # 13. A signal no statement of the run takes is refused with a hint.
    sig = write("sig.aos", 'workflow paywait() {\n  signal paid "invoice.paid"\n  output paid.data\n}\n')
    d = os.path.join(TMP, "d-sig")
    rc, out, err = run(sig, "--data", d, "--run-id", "s-1")
    check("13: the signal workflow waits", rc == 75, show(rc, out, err))
    before = len(events("s-1", d))
    rc, out, err = run("signal", "s-1", "invoice.piad", "--data-dir", d, "--payload", "{}")
    check("13: a misspelled signal is 64 with did-you-mean", rc == 64 and "'invoice.piad'" in err
          and "did you mean 'invoice.paid'" in err and "delivered" not in err, show(rc, out, err))
    check("13: a refused signal writes no event", len(events("s-1", d)) == before)
    rc, out, err = run("signal", "s-1", "invoice.paid", "--data-dir", d, "--payload", '{"amount":5}')
    check("13: the right name is delivered", rc == 0 and last_json(out) == {"amount": 5}, show(rc, out, err))

    # 14. --run-id of an existing run of another workflow is refused.
    hello = os.path.join(ROOT, "examples", "hello.aos")
    rc, out, err = run(hello, "--data", d, "--run-id", "s-1", "--input", "name=Ada")
    check("14: --run-id of another workflow's run is 64", rc == 64 and "paywait" in err
          and "another run id" in err, show(rc, out, err))
    rc, out, err = run(sig, "--data", d, "--run-id", "s-1")
    check("14: the same workflow continues (already completed)", rc == 0 and "exists" in err,
          show(rc, out, err))

    # 2. One depth limit (128) everywhere: deeper JSON is refused where it
    # comes in, and every stored event reads back.
    d = os.path.join(TMP, "d-deep")
    deep = write("deep.aos", 'workflow deep(n: int) {\n'
                 '  step s = http.get("%s/deep/${n}") { retry 0 }\n'
                 '  approval ok { ask "fine?" } after s\n'
                 '  output size(s.json) after ok\n}\n' % stand.url)
    rc, out, err = run(deep, "--data", d, "--run-id", "deep-128", "--input", "n=128")
    check("2: a 128-deep answer is taken; the run waits at its approval", rc == 75, show(rc, out, err))
    rc, out, err = run("approve", "deep-128", "ok", "--data-dir", d)
    check("2: ... and its log reads back: the approval completes it", rc == 0 and out.strip() == "1",
          show(rc, out, err))
    rc, out, err = run(deep, "--data", d, "--run-id", "deep-250", "--input", "n=250", "--json")
    j = last_json(out) or {}
    check("2: a 250-deep answer fails the call clearly", rc == 1 and j.get("error", {}).get("kind") == "net"
          and "nested more than 128" in j.get("error", {}).get("message", ""), show(rc, out, err))
    for cmd in (["log", "deep-250"], ["status", "deep-250"], ["verify"]):
        rc, out, err = run(*cmd, "--data", d)
        check(f"2: {cmd[0]} reads the failed run's log", rc == 0 and "damaged" not in err, show(rc, out, err))
    rc, out, err = run(deep, "--data", d, "--input-json", '{"n": ' + "[" * 129 + "1" + "]" * 129 + '}')
    check("2: --input-json nested past the limit is 64", rc == 64 and "nested more than 128" in err,
          show(rc, out, err))
    grow = write("grow.aos", 'workflow grow() {\n'
                 '  step s = http.get("%s/deep/125") { retry 0 }\n'
                 '  let a = [[[[[[[[[[s.json]]]]]]]]]]\n  let b = [[[[[[[[[[a]]]]]]]]]]\n'
                 '  let c = [[[[[[[[[[b]]]]]]]]]]\n  let e = [[[[[[[[[[c]]]]]]]]]]\n  output e\n}\n' % stand.url)
    rc, out, err = run(grow, "--data", d, "--run-id", "grow", "--json")
    j = last_json(out) or {}
    check("2: a statement whose value would be too deep fails with expr.error",
          rc == 1 and j.get("error", {}).get("kind") == "expr.error"
          and "nested more than 160" in j.get("error", {}).get("message", ""), show(rc, out, err))
    rc, out, err = run("verify", "--data", d)
    check("2: verify: every event of every run reads back", rc == 0 and "no problems" in out, show(rc, out, err))

    # 4. A secret never reaches an error message: not quoted by int(),
    # double(), timestamp(), duration() or a map lookup, whether read
    # directly or through a let derived from it.
    token = "tok-" + os.urandom(8).hex()
    d = os.path.join(TMP, "d-secret")
    leaks = {
        "int": 'output int(secret("TOKEN"))',
        "double": 'output double(secret("TOKEN"))',
        "timestamp": 'output timestamp(secret("TOKEN"))',
        "duration": 'output duration(secret("TOKEN"))',
        "lookup": 'let m = {"a": 1}\n  output m[secret("TOKEN")]',
        "derived": 'let t = secret("TOKEN") + "-x"\n  output int(t)',
        "substring": 'let t = secret("TOKEN")\n  output int(t.replace("tok-", "T"))',
        "fail": 'fail "bad token ${secret("TOKEN")}"',
    }
    outputs = []
    for name, body in leaks.items():
        wf = write("leak-%s.aos" % name, "workflow leak() {\n  %s\n}\n" % body)
        rc, out, err = run(wf, "--data", d, "--run-id", "leak-" + name, "--json", env={"TOKEN": token})
        outputs += [out, err]
        j = last_json(out) or {}
        check(f"4: {name}: the run fails with its kind", rc == 1 and j.get("error", {}).get("kind") in
              ("expr.error", "fail"), show(rc, out, err))
        for cmd in (["status", "leak-" + name, "--json"], ["log", "leak-" + name, "--json"],
                    ["log", "leak-" + name], ["trace", "leak-" + name],
                    ["trace", "leak-" + name, "--otlp", os.path.join(TMP, "otlp-%s.json" % name)]):
            rc, out, err = run(*cmd, "--data", d)
            outputs += [out, err]
            if cmd[-1].endswith(".json"):
                outputs.append(open(cmd[-1]).read() if os.path.exists(cmd[-1]) else "")
    rc, out, err = run("runs", "--json", "--data", d)
    outputs += [out, err, open(os.path.join(d, "aosrun.log")).read()]
    hits = [o for o in outputs if token in o or token[1:] in o]
    check("4: no output, event, trace or process log holds the secret (or a part of it)", not hits,
          hits[:2])
    check("4: no file and no decoded record of the data directory holds it", not secret_places(d, token.encode()),
          secret_places(d, token.encode()))
    check("4: the int() message still says which function failed",
          any("int(): the message is withheld" in o for o in outputs), outputs[:2])

    # 5. matches() is RE2: a backtracking blow-up returns at once; a bad
    # literal pattern is an aoscheck error.
    rx = write("regex.aos", 'workflow rx(x: string) {\n  output x.matches("^(a+)+$")\n}\n')
    rc, out, err = run(rx, "--data", os.path.join(TMP, "d-rx"), "--input", "x=" + "a" * 40 + "!", timeout=20)
    check("5: ^(a+)+$ over 40 characters answers", rc == 0 and out.strip() == "false", show(rc, out, err))
    bad = write("badrx.aos", 'workflow rx(x: string) {\n  output x.matches("(a")\n}\n')
    rc, out, err = check_tool(bad)
    check("5: an invalid literal pattern is E112 at its position", rc == 65 and "badrx.aos:2:20: error[E112]" in err,
          show(rc, out, err))

    # 6. Times: out of range or nonexistent dates are refused, never wrapped.
    until = write("until.aos", 'workflow later(at: timestamp) {\n  wait w until at\n  output "done" after w\n}\n')
    for bad, why in (("2300-01-01T00:00:00Z", "out of range"), ("2020-02-30T00:00:00Z", "not a valid date")):
        fresh = os.path.join(TMP, "d-until-" + bad[:4])
        rc, out, err = run(until, "--data", fresh, "--input", "at=" + bad)
        check(f"6: --input at={bad} is 64: {why}", rc == 64 and why in err and not os.path.exists(fresh),
              show(rc, out, err))
    rc, out, err = check_tool("eval", 'timestamp("0001-01-01T00:00:00Z")')
    check("6: timestamp() of year 1 is an error, not 1754", rc == 1 and "out of range" in err + out,
          show(rc, out, err))

    # 7. Two effects of a run with one key and different requests: the
    # second fails with effect.key_conflict naming both; one request is sent.
    stand.reset()
    d = os.path.join(TMP, "d-conflict")
    two = write("two-keys.aos", 'workflow two() {\n'
                '  effect a = http.post("%s/effects/a", json: {n: 1}) { key "same" }\n'
                '  effect b = http.post("%s/effects/b", json: {n: 2}) { key "same" }\n'
                '  output [a.status, b.status]\n}\n' % (stand.url, stand.url))
    rc, out, err = run(two, "--data", d, "--run-id", "conflict", "--json")
    j = last_json(out) or {}
    e = j.get("error", {})
    check("7: the second effect with the key fails with effect.key_conflict naming both",
          rc == 1 and e.get("kind") == "effect.key_conflict" and "a" in e.get("message", "").split()
          and "b" in e.get("message", "").split(), show(rc, out, err))
    check("7: the key reached the receiver once", stand.stats()["requests_by_key"].get("same") == 1,
          stand.stats())
    loop = write("loop-key.aos", 'workflow loop() {\n'
                 '  for x in [{id: 1, n: "a"}, {id: 1, n: "b"}] {\n'
                 '    effect e = http.post("%s/effects/loop", json: x) { key "item-${x.id}" }\n'
                 '  }\n  output size(e)\n}\n' % stand.url)
    rc, out, err = run(loop, "--data", d, "--run-id", "loop", "--json")
    j = last_json(out) or {}
    check("7: a loop key that ignores part of the item: key_conflict",
          rc == 1 and j.get("error", {}).get("kind") == "effect.key_conflict", show(rc, out, err))
    check("7: ... after one request", stand.stats()["requests_by_key"].get("item-1") == 1, stand.stats())
    same = write("same-req.aos", 'workflow same() {\n'
                 '  effect a = http.post("%s/effects/s", json: {n: 1}) { key "dup" }\n'
                 '  effect b = http.post("%s/effects/s", json: {n: 1}) { key "dup" } after a\n'
                 '  output [a.status, b.status]\n}\n' % (stand.url, stand.url))
    rc, out, err = run(same, "--data", d, "--run-id", "same", "--json")
    check("7: the same request under the same key is one effect, not a conflict", rc == 0
          and stand.stats()["requests_by_key"].get("dup") == 1, show(rc, out, err))

    # 8. An undo that keeps failing (the receiver is down) is retried with the
    # effect's policy, and the run waits for it instead of ending as if
    # compensated; resume tries again.
    stand.reset()
    d = os.path.join(TMP, "d-undo")
    undo = write("undo.aos", 'workflow undo() {\n'
                 '  effect a = http.post("%s/effects/a", json: {n: 1}) {\n'
                 '    key "undo-a"\n    retry 2 backoff 10ms\n'
                 '    compensate http.post("%s/flaky/undo-a?times=4&status=503")\n  }\n'
                 '  fail "stop here" after a\n  output a.status\n}\n' % (stand.url, stand.url))
    rc, out, err = run(undo, "--data", d, "--run-id", "undo", "--json")
    j = last_json(out) or {}
    w = (j.get("waiting_on") or [{}])[0]
    check("8: an undo still failing after its attempts: the run waits (75) on it", rc == 75
          and j.get("status") == "waiting" and w.get("kind") == "compensation" and w.get("name") == "a:undo"
          and "http.503" in w.get("error", ""), show(rc, out, err))
    ev = events("undo", d)
    undo_fails = [e for e in ev if e["type"] == "AttemptFailed" and e.get("step") == "a:undo"]
    check("8: the undo had the effect's 1 + 2 attempts", len(undo_fails) == 3, undo_fails)
    check("8: nothing says the run failed yet", not any(e["type"] == "RunFailed" for e in ev), [e["type"] for e in ev])
    rc, out, err = run("resume", "undo", "--data", d, "--json")
    j = last_json(out) or {}
    check("8: resume tries the undo again; it succeeds and the run ends failed (1), compensated",
          rc == 1 and j.get("status") == "failed" and j.get("error", {}).get("message") == "stop here",
          show(rc, out, err))
    ev = events("undo", d)
    done = [e for e in ev if e["type"] == "CompensationCompleted"]
    check("8: the last word on the undo is ok", done and done[-1].get("data", {}).get("ok") is True, done)

    # 3. A flipped bit in the newest file of the run index: every command
    # that lists runs says so (74) instead of leaving runs out, and verify
    # names the damaged file and the run it cannot see.
    d = os.path.join(TMP, "d-damage")
    hello = os.path.join(ROOT, "examples", "hello.aos")
    for i in range(3):
        run(hello, "--data", d, "--run-id", "h%d" % i, "--input", "name=A")
    gate = write("gate.aos", 'workflow gate() {\n  approval ok { ask "go?" timeout 1h }\n  output ok.approved\n}\n')
    rc, out, err = run(gate, "--data", d, "--run-id", "waiting-one")
    check("3: the approval waits", rc == 75, show(rc, out, err))
    runs_ssts = []
    for f in sorted(os.listdir(d)):
        if f.endswith(".sst"):
            p = subprocess.run(["sst_dump", "--file=" + os.path.join(d, f), "--show_properties"],
                               capture_output=True, text=True)
            if "column family name: runs" in p.stdout:
                runs_ssts.append(f)
    check("3: the run index has files", runs_ssts, os.listdir(d))
    if runs_ssts:
        with open(os.path.join(d, runs_ssts[-1]), "r+b") as f:
            f.seek(14)
            b = f.read(1)
            f.seek(14)
            f.write(bytes([b[0] ^ 0x10]))
        for cmd in (["runs"], ["inbox"], ["status"], ["cost"]):
            rc, out, err = run(*cmd, "--data", d)
            check(f"3: {cmd[0]} over a damaged run index is 74 naming the file", rc == 74
                  and runs_ssts[-1] in err, show(rc, out, err))
        rc, out, err = run("verify", "--data", d)
        check("3: verify names the damaged file and the run it cannot see", rc == 74
              and runs_ssts[-1] in out and "run waiting-one: has a log but no run index record" in out,
              show(rc, out, err))

    # 19. The process log keeps the lines of a killed process: it is flushed
    # with the events it describes.
    d = os.path.join(TMP, "d-killed")
    slow = write("slow.aos", 'workflow slow() {\n'
                 '  effect e = http.post("%s/sleep/20000", json: {}) { key "slow-1" timeout 30s }\n'
                 '  output e.status\n}\n' % stand.url)
    p = subprocess.Popen([AOSRUN, slow, "--data", d, "--run-id", "killed"], cwd=TMP, env=ENV,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    logf = os.path.join(d, "aosrun.log")
    text = ""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and "effect intent" not in text:
        time.sleep(0.05)
        text = open(logf).read() if os.path.exists(logf) else ""
    p.kill()
    p.wait()
    text = open(logf).read() if os.path.exists(logf) else ""
    check("19: after kill -9 the process log has the run's start and the effect's intent",
          "run killed started" in text and "effect intent, key 'slow-1'" in text, repr(text[-500:]))

    # 18. describe with interpolation is evaluated and kept for the trace.
    d = os.path.join(TMP, "d-describe")
    desc = write("describe.aos", 'workflow desc(who: string) {\n'
                 '  step s = http.get("%s/effects/d") { describe "fetch for ${who}" }\n'
                 '  output s.status\n}\n' % stand.url)
    rc, out, err = run(desc, "--data", d, "--run-id", "desc", "--input", "who=Ada")
    rc, out, err = run("trace", "desc", "--data", d)
    check("18: trace shows the interpolated describe text", rc == 0 and '"fetch for Ada"' in out, show(rc, out, err))
    otlp = os.path.join(TMP, "desc-otlp.json")
    rc, out, err = run("trace", "desc", "--data", d, "--otlp", otlp)
    check("18: OTLP carries it as aos.describe", rc == 0 and "fetch for Ada" in open(otlp).read(), show(rc, out, err))

    # 10. Record inputs are checked field by field at start (64 naming the
    # field, nothing written); defaults are filled, ints become doubles.
    rec = write("record.aos", 'type Ev { email: string  score: double  tier: string = "free" }\n'
                'workflow rec(ev: Ev) {\n  output {email: ev.email, score: ev.score, tier: ev.tier}\n}\n')
    for bad, field in (('{"email": 5, "score": 1.5}', "ev.email"), ('{"score": 1.5}', "ev.email"),
                       ('{"email": "a@b.c", "score": "high"}', "ev.score"),
                       ('{"email": "a@b.c", "score": 1, "emial": "x"}', "ev.emial: Ev has no field 'emial'")):
        fresh = os.path.join(TMP, "d-rec-%d" % len(bad))
        rc, out, err = run(rec, "--data", fresh, "--input", "ev=" + bad)
        check(f"10: --input ev={bad} is 64 naming {field}", rc == 64 and field in err
              and not os.path.exists(fresh), show(rc, out, err))
    rc, out, err = run(rec, "--data", os.path.join(TMP, "d-rec"), "--input", 'ev={"email": "a@b.c", "score": 2}')
    check("10: a good record runs with its default filled and the int a double",
          rc == 0 and out.strip() == '{"email":"a@b.c","score":2.0,"tier":"free"}', show(rc, out, err))

    # 16. Money inputs in the form money prints in.
    money = write("money.aos", 'workflow pay(amount: money) {\n  output amount\n}\n')
    for given in ("1200.00 usd", "1200 USD", '{"amount": "1200.00", "currency": "usd"}'):
        rc, out, err = run(money, "--data", os.path.join(TMP, "d-money"), "--input", "amount=" + given)
        check(f"16: --input amount={given}", rc == 0 and json.loads(out or "null") ==
              {"amount": "1200.00", "currency": "usd"}, show(rc, out, err))
    rc, out, err = run(money, "--data", os.path.join(TMP, "d-money"), "--input", "amount=lots")
    check("16: money that is not money is 64 with the forms", rc == 64 and "1200.00 usd" in err, show(rc, out, err))

    # 12. Every env() and model name a run can reach is checked at start.
    envwf = write("envwf.aos", 'connector cms = http { base_url: env("AOS_TEST_UNSET_URL") }\n'
                  'workflow e() {\n  approval ok { ask "go?" timeout 1h }\n'
                  '  effect p = cms.post("/posts", json: {}) { key "p" } after ok\n  output p.status\n}\n')
    fresh = os.path.join(TMP, "d-env")
    rc, out, err = run(envwf, "--data", fresh)
    check("12: an unset env() behind a connector is 64 at start, nothing written", rc == 64
          and "AOS_TEST_UNSET_URL" in err and "connector cms's base_url" in err and not os.path.exists(fresh),
          show(rc, out, err))
    optional = write("envopt.aos", 'workflow o() {\n  output default(env("AOS_TEST_UNSET_URL"), "none")\n}\n')
    rc, out, err = run(optional, "--data", fresh)
    check("12: env() under default() may be unset", rc == 0 and out.strip() == '"none"', show(rc, out, err))
    modelwf = write("model.aos", 'workflow m() {\n  approval ok { ask "go?" timeout 1h }\n'
                    '  step s = llm.chat(model: "small", prompt: "hi") after ok\n  output s.text\n}\n')
    fresh = os.path.join(TMP, "d-model")
    rc, out, err = run(modelwf, "--data", fresh)
    check("12: a model name with no config is 65 at start, before the approval", rc == 65
          and "unknown model 'small'" in err and not os.path.exists(fresh), show(rc, out, err))

    # 17. One format per kind of value: times as RFC 3339, durations as
    # durations, money as money.
    d = os.path.join(TMP, "d-formats")
    timer = write("timer.aos", 'workflow t() {\n  wait w for 48h\n  output 1 after w\n}\n')
    run(timer, "--data", d, "--run-id", "t1")
    run("resume", "t1", "--data", d, env={"AOS_CLOCK_OFFSET": "49h"})
    rc, out, err = run("log", "t1", "--data", d, "--json")
    started = [json.loads(l) for l in out.splitlines() if '"TimerStarted"' in l]
    check("17: log shows a timer's due time as RFC 3339", started and
          str(started[0]["data"]["due"]).endswith("Z") and "T" in str(started[0]["data"]["due"]), out)
    rc, out, err = run("trace", "t1", "--data", d, env={"AOS_CLOCK_OFFSET": "49h"})
    check("17: trace shows a two-day wait as a duration", rc == 0 and "49h" in out and " ms" not in out,
          show(rc, out, err))
    budget = write("budget.aos", 'workflow b() {\n  budget 0.001 usd\n'
                   '  step s = llm.chat(model: "small", prompt: "hello there") { retry 0 }\n  output s.text\n}\n')
    cfg = write("budget.yaml", "models:\n  small:\n    base_url: %s/v1\n    model: m\n"
                "    price: {input_per_mtok: 1.0, output_per_mtok: 1.0}\n" % stand.url)
    rc, out, err = run(budget, "--config", cfg, "--data", d, "--run-id", "b1")
    rc, out, err = run("inbox", "--json", "--data", d)
    rows = [json.loads(l) for l in out.splitlines() if l.strip()]
    raise_by = rows[0]["show"].get("raise_by") if rows and isinstance(rows[0].get("show"), dict) else None
    check("17: the budget approval shows raise_by as money", isinstance(raise_by, dict)
          and set(raise_by) == {"amount", "currency"}, out)
    rc, out, err = run("approve", "b1", rows[0]["name"] if rows else "x", "--data-dir", d, "--config", cfg)
    check("17: approving the raise lets the call run", rc == 0, show(rc, out, err))

    # 22. --batch: deterministic run ids per line; a batch killed midway
    # prints whole lines for the runs it finished, and run again it starts
    # no run twice.
    stand.reset()
    d = os.path.join(TMP, "d-batch")
    bwf = write("batch.aos", 'workflow one(n: int) {\n'
                '  effect e = http.post("%s/effects/b", json: {n: n}) { key "batch-${n}" }\n'
                '  step s = http.get("%s/sleep/250") after e\n  output n\n}\n' % (stand.url, stand.url))
    lines = write("batch.jsonl", "".join('{"n": %d}\n' % i for i in range(8)))
    p = subprocess.Popen([AOSRUN, bwf, "--batch", lines, "--data", d, "--json"], cwd=TMP, env=ENV,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    got = b""
    deadline = time.monotonic() + 20
    import select
    while time.monotonic() < deadline and got.count(b"\n") < 2:
        r, _, _ = select.select([p.stdout], [], [], 0.2)
        if r:
            chunk = os.read(p.stdout.fileno(), 65536)
            if not chunk:
                break
            got += chunk
    p.kill()
    rest = p.stdout.read()
    p.wait()
    got += rest
    first = got.decode()
    printed = [l for l in first.split("\n") if l]
    check("22: a killed batch printed the runs it finished, as whole JSON lines", len(printed) >= 2
          and first.endswith("\n") and all(json.loads(l).get("run_id", "").startswith("b") for l in printed), first)
    rc, out, err = run(bwf, "--batch", lines, "--data", d, "--json", timeout=60)
    rows = [json.loads(l) for l in out.splitlines() if l.strip()]
    ids = [r["run_id"] for r in rows]
    check("22: run again, the batch reports every line once, all completed", rc == 0 and len(rows) == 8
          and len(set(ids)) == 8 and all(r["status"] == "completed" for r in rows)
          and "already in the data directory" in err, show(rc, out, err))
    check("22: the run ids are the ones printed before the kill",
          all(json.loads(l)["run_id"] in ids for l in printed), (printed, ids))
    rc, out, err = run("runs", "--json", "--data", d)
    check("22: the data directory holds exactly one run per line", rc == 0 and len(out.splitlines()) == 8, out)
    counts = stand.stats()["requests_by_key"]
    check("22: every line's effect reached the receiver, the finished ones once",
          all(counts.get("batch-%d" % i, 0) >= 1 for i in range(8))
          and sum(counts.get("batch-%d" % i, 0) for i in range(8)) <= 9, counts)

    # 23. aosrun retry: a failed run goes on from its failed statement,
    # keeping every completed effect.
    stand.reset()
    d = os.path.join(TMP, "d-retry")
    rwf = write("retry.aos", 'workflow r() {\n'
                '  effect a = http.post("%s/effects/ra", json: {}) { key "retry-a" }\n'
                '  step b = http.get("%s/flaky/retry-b?times=2&status=404") after a\n'
                '  effect c = http.post("%s/effects/rc", json: {}) { key "retry-c" } after b\n'
                '  output b.json.attempt\n}\n' % (stand.url, stand.url, stand.url))
    rc, out, err = run(rwf, "--data", d, "--run-id", "rr")
    check("23: the run fails at b (404)", rc == 1 and "http.404" in err, show(rc, out, err))
    rc, out, err = run("retry", "rr", "--data", d, "--from", "c")
    check("23: --from a statement that did not fail is 64 naming the failed ones", rc == 64
          and "did not fail" in err and "failed: b" in err, show(rc, out, err))
    rc, out, err = run("retry", "rr", "--data", d)
    check("23: retry attempts b again (fails again: 404)", rc == 1, show(rc, out, err))
    rc, out, err = run("retry", "rr", "--data", d, "--from", "b")
    check("23: the second retry completes", rc == 0 and out.strip() == "3", show(rc, out, err))
    counts = stand.stats()["requests_by_key"]
    check("23: the completed effect was not repeated; the later one ran once",
          counts.get("retry-a") == 1 and counts.get("retry-c") == 1, counts)
    rc, out, err = run("retry", "rr", "--data", d)
    check("23: retrying a completed run is 64", rc == 64 and "did not fail" in err, show(rc, out, err))
    rc, out, err = run("verify", "--data", d)
    check("23: verify after retries", rc == 0, show(rc, out, err))

    # 15. One command line (CLI11): --data-dir everywhere, --payload for JSON,
    # did-you-mean for commands and options, `--`, @FILE and - for JSON.
    rc, out, err = run("aprove", "r", "x")
    check("15: a mistyped command gets a did-you-mean (64)", rc == 64
          and "did you mean 'approve'" in err, show(rc, out, err))
    rc, out, err = run(hello, "--inptu", "name=Ada")
    check("15: a mistyped option gets a did-you-mean (64)", rc == 64 and "did you mean --input" in err,
          show(rc, out, err))
    rc, out, err = run("status", "--otlp", "x", "--data-dir", os.path.join(TMP, "d-sig"))
    check("15: an option of another command is refused (64)", rc == 64 and "--otlp" in err, show(rc, out, err))
    rc, out, err = check_tool("eval", "--", "-1 + 3")
    check("15: aoscheck eval -- '-1 + 3'", rc == 0 and out.strip() == "2", show(rc, out, err))
    rc, out, err = check_tool("evl", "1")
    check("15: aoscheck: a mistyped command gets a did-you-mean", rc == 64 and "did you mean 'eval'" in err,
          show(rc, out, err))
    typed = write("typed.aos", 'workflow typed(n: int, s: string = "x") {\n  output {n: n * 2, s: s}\n}\n')
    jf = write("inputs.json", '{"n": 21, "s": "from a file"}')
    rc, out, err = run(typed, "--data-dir", os.path.join(TMP, "d-json"), "--input-json", "@" + jf)
    check("15: --input-json @FILE", rc == 0 and json.loads(out) == {"n": 42, "s": "from a file"}, show(rc, out, err))
    p = subprocess.run([AOSRUN, typed, "--data-dir", os.path.join(TMP, "d-json"), "--input-json", "-"],
                       input='{"n": 1}', capture_output=True, text=True, env=ENV, cwd=TMP, timeout=30)
    check("15: --input-json - reads standard input", p.returncode == 0 and json.loads(p.stdout) == {"n": 2, "s": "x"},
          (p.returncode, p.stdout, p.stderr))
    rc, out, err = run(sig, "--data-dir", os.path.join(TMP, "d-sig2"), "--run-id", "s-2")
    rc, out, err = run("signal", "s-2", "invoice.paid", "--data", '{"amount": 1}')
    check("15: --data with JSON is refused with the --payload hint", rc == 64 and "--payload" in err,
          show(rc, out, err))
    pf = write("payload.json", '{"amount": 9}')
    rc, out, err = run("signal", "s-2", "invoice.paid", "--data-dir", os.path.join(TMP, "d-sig2"), "--payload", "@" + pf)
    check("15: signal --payload @FILE", rc == 0 and last_json(out) == {"amount": 9}, show(rc, out, err))

    # 25. The secret scan reads decoded records: a value stored after a
    # look-alike (RocksDB compresses it into a back-reference) is found.
    d = os.path.join(TMP, "d-scan")
    planted = "planted-" + os.urandom(10).hex()
    decoy = planted[:20] + "-decoy-" + "x" * 40
    scan = write("scan.aos", 'workflow scan(a: string, b: string) {\n  output {a: a, b: b}\n}\n')
    for i in range(40):
        run(scan, "--data", d, "--run-id", "scan-%d" % i, "--input", "a=" + decoy, "--input", "b=" + planted)
    check("25: a value the program stores is found by the scan", secret_places(d, planted.encode()),
          "not found")

    # Review follow-ups. retry after a rejected escalation asks again rather
    # than failing on the old rejection.
    stand.reset()
    d = os.path.join(TMP, "d-retry-esc")
    esc = write("esc.aos", 'workflow esc() {\n'
                '  step b = http.get("%s/flaky/esc-b?times=2&status=404") { escalate after 1 }\n'
                '  output b.json.attempt\n}\n' % stand.url)
    rc, out, err = run(esc, "--data", d, "--run-id", "esc")
    check("review: the failing step escalates (75)", rc == 75, show(rc, out, err))
    rc, out, err = run("reject", "esc", "b", "--data-dir", d)
    check("review: rejecting the escalation fails the run", rc == 1, show(rc, out, err))
    rc, out, err = run("retry", "esc", "--data", d)
    check("review: retry attempts the step afresh and escalates anew (75)", rc == 75, show(rc, out, err))
    rc, out, err = run("approve", "esc", "b", "--data-dir", d)
    check("review: approving the new escalation completes the run", rc == 0 and out.strip() == "3",
          show(rc, out, err))
    # cancel ends a run whose undo keeps failing.
    stand.reset()
    d = os.path.join(TMP, "d-undo-cancel")
    undo2 = write("undo2.aos", 'workflow undo2() {\n'
                  '  effect a = http.post("%s/effects/a2", json: {}) {\n'
                  '    key "undo2-a"\n    retry 1 backoff 10ms\n'
                  '    compensate http.post("%s/flaky/undo2?times=1000&status=503")\n  }\n'
                  '  fail "stop" after a\n  output a.status\n}\n' % (stand.url, stand.url))
    rc, out, err = run(undo2, "--data", d, "--run-id", "u2")
    check("review: the undo that keeps failing makes the run wait", rc == 75, show(rc, out, err))
    rc, out, err = run("cancel", "u2", "--data", d, "--json")
    j = last_json(out) or {}
    check("review: cancel ends it, the undo recorded as failed", rc == 0 and j.get("status") == "cancelled",
          show(rc, out, err))
    # Bytes inside a record input stay the bytes given.
    bwf = write("bytes.aos", 'type D { blob: bytes }\nworkflow b(d: D) {\n  output size(d.blob)\n}\n')
    rc, out, err = run(bwf, "--data", os.path.join(TMP, "d-bytes"), "--input-json", '{"d": {"blob": "hi"}}')
    check("review: a bytes field of a record input is not re-encoded", rc == 0 and out.strip() == "2",
          show(rc, out, err))

    # 26. Promises about syncing, seen in the system calls (strace): a
    # decision is durable before approve reports it; a batch syncs before it
    # prints a run; --durability strict syncs each write.
    d = os.path.join(TMP, "d-sync")
    gate2 = write("gate2.aos", 'workflow g2() {\n  approval ok { ask "go?" timeout 1h }\n  output ok.approved\n}\n')
    run(gate2, "--data", d, "--run-id", "g2")
    rc, steps = traced(["approve", "g2", "ok", "--data-dir", d, "--no-continue"], d)
    check("26: approve syncs the decision before it says so", rc == 0
          and synced_before(steps, lambda t: "approved" in t), steps[-8:])
    lines = write("sync.jsonl", '{"n": 1}\n{"n": 2}\n{"n": 3}\n')
    one = write("one.aos", 'workflow one(n: int) {\n  output n\n}\n')
    rc, steps = traced([one, "--batch", lines, "--data", d, "--json"], d)
    check("26: --batch syncs the runs' ends before it prints them", rc == 0
          and synced_before(steps, lambda t: "run_id" in t), steps[-8:])
    lets = write("lets.aos", 'workflow lets() {\n' + "".join('  let v%d = %d\n' % (i, i) for i in range(6))
                 + '  output v5\n}\n')
    counts = {}
    for mode in ("strict", "default"):
        rc, steps = traced([lets, "--data", d, "--durability", mode], d)
        counts[mode] = (rc, sum(st[0] == "wal-write" for st in steps), sum(st[0] == "wal-sync" for st in steps),
                        bool(steps) and [st[0] for st in steps if st[0] != "out"][-1:] == ["wal-sync"])
    sw = counts["strict"]
    check("26: --durability strict syncs (about) every write to the log; default syncs at the end",
          sw[0] == 0 and sw[1] >= 6 and sw[2] >= sw[1] - 1 and sw[3]
          and counts["default"][0] == 0 and counts["default"][2] < counts["default"][1] and counts["default"][3],
          counts)

    # 26. Effects are never cached: the same request under a new key is sent
    # again, even with a cache modifier.
    stand.reset()
    cached = write("cached.aos", 'workflow c(n: int) {\n  effect e = http.post("%s/effects/c", json: {}) {\n'
                   '    key "c-${n}"\n    cache 1h\n  }\n  output e.status\n}\n' % stand.url)
    for n in (1, 2):
        run(cached, "--data", os.path.join(TMP, "d-cached"), "--input", "n=%d" % n)
    by_key = stand.stats()["requests_by_key"]
    check("26: an effect is never answered from the cache", by_key.get("c-1") == 1 and by_key.get("c-2") == 1, by_key)

    # 26. The approval hash depends on the payload and is recorded with the
    # decision; a decision bound to another hash is refused.
    d = os.path.join(TMP, "d-hash")
    shown = write("shown.aos", 'workflow s(x: string) {\n  approval ok { ask "go?" show {x: x} timeout 1h }\n'
                  '  output ok.approved\n}\n')
    run(shown, "--data", d, "--run-id", "h1", "--input", "x=one")
    run(shown, "--data", d, "--run-id", "h2", "--input", "x=two")
    rc, out, err = run("inbox", "--json", "--data", d)
    hashes = {json.loads(l)["run_id"]: json.loads(l)["payload_hash"] for l in out.splitlines() if l.strip()}
    check("26: different payloads, different hashes", len(hashes) == 2 and hashes.get("h1") != hashes.get("h2")
          and all(hashes.values()), hashes)
    rc, out, err = run("approve", "h1", "ok", "--data-dir", d, "--expect-hash", hashes.get("h2", "x"))
    check("26: a decision bound to another payload's hash is refused", rc == 64 and "look again" in err,
          show(rc, out, err))
    rc, out, err = run("approve", "h1", "ok", "--data-dir", d, "--expect-hash", hashes.get("h1", "x"))
    decided = [json.loads(l) for l in run("log", "h1", "--json", "--data", d)[1].splitlines()
               if '"ApprovalDecided"' in l]
    check("26: ApprovalDecided records the hash the decision was bound to", rc == 0 and decided
          and decided[0]["data"].get("payload_hash") == hashes.get("h1"), decided)

    # 26. Damage the checks must see, made with ldb (RocksDB's own tool):
    # a record whose checksum fails, a gap in a log, a newer format.
    d = os.path.join(TMP, "d-ldb")
    for i in range(2):
        run(hello, "--data", d, "--run-id", "l%d" % i, "--input", "name=L")
    def ldb(*args):
        sec = tempfile.mkdtemp(prefix="aos-ldb-w-")
        p = subprocess.run(["ldb", "--db=" + d, *args], capture_output=True, text=True, timeout=60)
        shutil.rmtree(sec, ignore_errors=True)
        return p
    key1 = "0x" + b"l1".hex() + "00" + "%016x" % 1
    got = ldb("--column_family=events", "--hex", "get", key1)
    val = got.stdout.strip()
    if val.startswith("0x") and len(val) > 10:
        bad = val[:-2] + ("00" if val[-2:] != "00" else "01")  # the CRC no longer matches
        ldb("--column_family=events", "--hex", "put", key1, bad)
        rc, out, err = run("verify", "--data", d)
        check("26: verify reports a checksum mismatch (74)", rc == 74 and "l1 event 1" in out, show(rc, out, err))
        rc, out, err = run("log", "l1", "--data", d)
        check("26: log exits 74 on a damaged event", rc == 74 and err.strip(), show(rc, out, err))
    else:
        check("26: ldb reads the event to damage", False, (got.returncode, got.stdout, got.stderr))
    key0 = "0x" + b"l0".hex() + "00" + "%016x" % 1
    ldb("--column_family=events", "--hex", "delete", key0)
    rc, out, err = run("verify", "--data", d)
    check("26: verify reports a gap in a log", rc == 74 and "gap" in out and "l0" in out, show(rc, out, err))
    ldb("--column_family=meta", "put", "format", "aos-data-dir 99")
    rc, out, err = run("runs", "--data", d)
    check("26: a newer data directory format is refused (74)", rc == 74 and "aos-data-dir 99" in err,
          show(rc, out, err))
finally:
    stand.stop()

CHECKS.finish(TMP)
