#!/usr/bin/env python3
"""The real-kill crash test of aosrun.

A workflow of 20 sequential HTTP effects (each `after` the previous one, each
with an idempotency key kill-eN) runs against tests/standin/standin.py. The
aosrun process is SIGKILLed at random moments, then `aosrun resume RUN` (also
killed at random moments) until it completes. Afterwards:

  - the output equals the output of an uncrashed run of the same workflow;
  - the receiver saw every key kill-e0..kill-e19 and no other; a key seen more
    than once is a redelivery with the same key (which the receiver dedupes),
    and there are no more redeliveries than kills;
  - the log records each effect's completion exactly once, and
  - `aosrun verify` exits 0.
At least a third of the kills must land while a run is in progress. Then a
workflow with parallel effects (a `for ... max 3`), an approval and
compensation is killed at random moments through start, approve and resume:
it must end failed with every effect done and undone (each key at most once
more per kill), one decision recorded, and verify clean. Then 30 processes
are killed while they create a fresh data directory: each directory must
stay usable (resume finds no run, a start completes).

Usage: aosrun_kill_test.py PATH/TO/aosrun [SEED]
The seed (also $AOS_KILL_SEED) makes the kill moments reproducible.
$AOS_KILL_RUNS and $AOS_KILL_KILLS change the number of runs and the kills per run.
Exits non-zero on any failure.
"""
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

if len(sys.argv) not in (2, 3):
    sys.exit("usage: aosrun_kill_test.py PATH/TO/aosrun [SEED]")
AOSRUN = os.path.abspath(sys.argv[1])
SEED = int(sys.argv[2]) if len(sys.argv) == 3 else int(os.environ.get("AOS_KILL_SEED", "1125"))
RUNS = int(os.environ.get("AOS_KILL_RUNS", "3"))
KILLS = int(os.environ.get("AOS_KILL_KILLS", "8"))
CREATE_KILLS = 30
EFFECTS = 20
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "standin"))
from harness import Standin  # noqa: E402
TMP = tempfile.mkdtemp(prefix="aosrun_kill_")
KEYS = ["kill-e%d" % i for i in range(EFFECTS)]

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, flush=True)


ENV = {k: v for k, v in os.environ.items()
       if not k.lower().endswith("_proxy") and not k.startswith("AOS_")}
ENV["NO_PROXY"] = ENV["no_proxy"] = "127.0.0.1,localhost"


def workflow_text():
    lines = ["workflow kill20(base: string) {"]
    for i in range(EFFECTS):
        after = " after e%d" % (i - 1) if i else ""
        lines.append('  effect e%d = http.post("${base}/effects/e%d", json: {i: %d}) {\n'
                     '    key "kill-e%d"\n    retry 5 backoff 100ms\n  }%s' % (i, i, i, i, after))
    lines.append("  output {statuses: [%s], ok: [%s], count: %d}" % (
        ", ".join("e%d.status" % i for i in range(EFFECTS)),
        ", ".join("e%d.json.ok" % i for i in range(EFFECTS)), EFFECTS))
    lines.append("}")
    return "\n".join(lines) + "\n"


def aosrun(*args, timeout=60):
    p = subprocess.run([AOSRUN, *args], cwd=TMP, env=ENV, capture_output=True, text=True,
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def output_of(stdout):
    lines = [l for l in stdout.splitlines() if l.strip()]
    try:
        return json.loads(lines[-1]) if lines else None
    except ValueError:
        return None


def check_run(label, run_id, data, stats, kills, expected_output, got_output):
    """Checks one finished run; returns the number of redeliveries."""
    if got_output != expected_output:
        fail("%s: output differs from the uncrashed run:\n  got  %s\n  want %s"
             % (label, json.dumps(got_output), json.dumps(expected_output)))
    by_key = stats["requests_by_key"]
    missing = [k for k in KEYS if by_key.get(k, 0) < 1]
    extra = sorted(k for k in by_key if k not in KEYS)
    if missing:
        fail("%s: the receiver never saw %s" % (label, missing))
    if extra:
        fail("%s: the receiver saw unexpected keys %s" % (label, extra))
    dups = sum(max(0, by_key.get(k, 0) - 1) for k in KEYS)
    if dups > kills:
        fail("%s: %d redeliveries after only %d kills: a completed effect was sent again (%s)"
             % (label, dups, kills, {k: by_key.get(k) for k in KEYS if by_key.get(k, 0) > 1}))
    rc, out, err = aosrun("log", run_id, "--json", "--data", data)
    if rc != 0:
        fail("%s: aosrun log exited %d: %s" % (label, rc, err.strip()))
    completed = {}
    intents = {}
    types = []
    for line in out.splitlines():
        try:
            e = json.loads(line)
        except ValueError:
            fail("%s: a log line is not JSON: %r" % (label, line[:200]))
            continue
        types.append(e.get("type"))
        key = (e.get("data") or {}).get("key") if isinstance(e.get("data"), dict) else None
        if e.get("type") == "EffectCompleted":
            completed[key] = completed.get(key, 0) + 1
        if e.get("type") == "EffectIntent":
            intents[key] = intents.get(key, 0) + 1
    if types[:1] != ["RunStarted"] or types[-1:] != ["RunCompleted"]:
        fail("%s: the log does not run from RunStarted to RunCompleted: %s..%s"
             % (label, types[:1], types[-1:]))
    wrong = {k: completed.get(k, 0) for k in KEYS if completed.get(k, 0) != 1}
    if wrong or set(completed) - set(KEYS):
        fail("%s: EffectCompleted must appear once per key; counts %s" % (label, wrong or completed))
    no_intent = [k for k in KEYS if intents.get(k, 0) < 1]
    if no_intent:
        fail("%s: effects without a recorded intent: %s" % (label, no_intent))
    rc, out, err = aosrun("verify", "--data", data)
    if rc != 0:
        fail("%s: aosrun verify exited %d:\n%s%s" % (label, rc, out, err))
    rc, out, err = aosrun("status", run_id, "--json", "--data", data)
    st = output_of(out)
    if rc != 0 or not isinstance(st, dict) or st.get("status") != "completed":
        fail("%s: status after completion: rc=%d %s %s" % (label, rc, out.strip(), err.strip()))
    return dups


MIX_ITEMS = 6


def mixed_text():
    return ("workflow mix(base: string) {\n"
            "  for i in [%s] max 3 {\n"
            '    effect p = http.post("${base}/effects/p${i}", json: {i: i}) {\n'
            '      key "mix-p${i}"\n      retry 5 backoff 50ms\n'
            '      compensate http.post("${base}/effects/undo-p${i}", json: {i: i})\n    }\n'
            "  }\n"
            '  approval ok { ask "go on?" timeout 1h } after p\n'
            '  step boom = http.get("${base}/flaky/mix-boom?times=1000&status=404") after ok\n'
            "  output size(p) after boom\n}\n" % ", ".join(str(i) for i in range(MIX_ITEMS)))


def mixed_runs(rng, stand, totals):
    """Parallel effects, an approval and compensation, all under SIGKILL: the
    run ends failed with every effect done and undone, each key at most once
    more per kill, and one decision recorded."""
    wf = os.path.join(TMP, "mix.aos")
    with open(wf, "w") as f:
        f.write(mixed_text())
    keys = ["mix-p%d" % i for i in range(MIX_ITEMS)]
    mixed_kills = 0
    for r in range(2):
        run_id = "mix-%d-%d" % (SEED, r)
        data = os.path.join(TMP, "data-mix-%d" % r)
        label = "mixed run %s" % run_id
        stand.call("POST", "/reset")
        start = [AOSRUN, wf, "--run-id", run_id, "--data", data, "--input", "base=" + stand.url]
        cmd, kills, rc, mid = start, 0, None, 0
        for attempt in range(40):
            p = subprocess.Popen(cmd, cwd=TMP, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            killed = False
            if kills < 6:
                try:
                    p.wait(timeout=rng.uniform(0.003, 0.060))
                except subprocess.TimeoutExpired:
                    p.send_signal(signal.SIGKILL)
                    killed = True
            out, err = p.communicate(timeout=60)
            if killed and p.returncode == -signal.SIGKILL:
                kills += 1
            else:
                rc = p.returncode
                if rc == 1:
                    break
                if rc not in (0, 64, 66, 74, 75):
                    fail("%s: %s exited %d: %s" % (label, cmd[1], rc, err.strip()[-300:]))
                    return
            src, sout, _ = aosrun("status", run_id, "--json", "--data", data)
            st = output_of(sout) if src == 0 else None
            if not isinstance(st, dict):
                cmd = start  # killed before the run was recorded
                continue
            mid += killed
            # The inbox, not the run's last waiting_on: a killed approve may
            # have recorded its decision without continuing the run.
            irc, iout, _ = aosrun("inbox", "--json", "--data", data)
            waiting = [l for l in iout.splitlines() if l.strip() and json.loads(l).get("run_id") == run_id]
            cmd = ([AOSRUN, "approve", run_id, "ok", "--data-dir", data] if waiting
                   else [AOSRUN, "resume", run_id, "--data", data])
        totals["kills"] += kills
        totals["mid_run_kills"] += mid
        mixed_kills += mid
        if rc != 1:
            fail("%s: did not end failed (last exit %s)" % (label, rc))
            continue
        by_key = stand.call("GET", "/stats")["requests_by_key"]
        for k in keys:
            if not 1 <= by_key.get(k, 0) <= 1 + kills:
                fail("%s: %s reached the receiver %d times after %d kills" % (label, k, by_key.get(k, 0), kills))
            if not 1 <= by_key.get(k + ":undo", 0) <= 1 + kills:
                fail("%s: %s:undo reached the receiver %d times after %d kills"
                     % (label, k, by_key.get(k + ":undo", 0), kills))
        rc2, out2, err2 = aosrun("log", run_id, "--json", "--data", data)
        events = [json.loads(l) for l in out2.splitlines() if l.strip()]
        decided = [e for e in events if e["type"] == "ApprovalDecided"]
        done = [e for e in events if e["type"] == "CompensationCompleted" and (e.get("data") or {}).get("ok")]
        if len(decided) != 1:
            fail("%s: %d decisions recorded (one approve was asked for, maybe several times)" % (label, len(decided)))
        if len({(e.get("data") or {}).get("for") for e in done}) != MIX_ITEMS:
            fail("%s: compensations completed: %s" % (label, [(e.get("data") or {}).get("for") for e in done]))
        rc3, out3, err3 = aosrun("verify", "--data", data)
        if rc3 != 0:
            fail("%s: verify exited %d: %s%s" % (label, rc3, out3, err3))
        print("%s: %d kills (%d mid-run), failed and compensated as it should" % (label, kills, mid), flush=True)
    if mixed_kills < 4:
        fail("only %d kills landed inside the mixed runs" % mixed_kills)


def main():
    rng = random.Random(SEED)
    wf = os.path.join(TMP, "kill20.aos")
    with open(wf, "w") as f:
        f.write(workflow_text())
    stand = Standin(TMP, "--delay-ms", "20")
    t0 = time.monotonic()
    totals = {"kills": 0, "resumes": 0, "restarts": 0, "dups": 0, "mid_run_kills": 0}
    histogram = {}
    try:
        # The uncrashed reference run.
        stand.call("POST", "/reset")
        ref_data = os.path.join(TMP, "data-ref")
        rc, out, err = aosrun(wf, "--run-id", "ref", "--data", ref_data, "--input", "base=" + stand.url)
        expected = output_of(out)
        if rc != 0 or not isinstance(expected, dict):
            fail("the uncrashed run: rc=%d\n%s%s" % (rc, out, err))
            return
        ref_stats = stand.call("GET", "/stats")
        if any(ref_stats["requests_by_key"].get(k) != 1 for k in KEYS):
            fail("the uncrashed run did not send each key once: %s" % ref_stats["requests_by_key"])
        check_run("uncrashed run", "ref", ref_data, ref_stats, 0, expected, expected)

        for r in range(RUNS):
            run_id = "kill-%d-%d" % (SEED, r)
            data = os.path.join(TMP, "data-%d" % r)
            label = "run %s" % run_id
            stand.call("POST", "/reset")
            start = [AOSRUN, wf, "--run-id", run_id, "--data", data, "--input", "base=" + stand.url]
            resume = [AOSRUN, "resume", run_id, "--data", data]
            cmd = start
            kills = resumes = restarts = attempts = 0
            final_out = None
            while True:
                attempts += 1
                if attempts > KILLS + 20:
                    fail("%s: no completion after %d processes" % (label, attempts - 1))
                    break
                p = subprocess.Popen(cmd, cwd=TMP, env=ENV, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
                killed = False
                if kills < KILLS:
                    delay = rng.uniform(0.010, 0.300)
                    try:
                        p.wait(timeout=delay)
                    except subprocess.TimeoutExpired:
                        p.send_signal(signal.SIGKILL)
                        killed = True
                try:
                    out, err = p.communicate(timeout=60)
                except subprocess.TimeoutExpired:
                    p.kill()
                    out, err = p.communicate()
                    fail("%s: a process hung for 60 s: %s" % (label, " ".join(cmd[1:3])))
                    break
                if killed and p.returncode == -signal.SIGKILL:
                    kills += 1
                    # Mid-run: the run was recorded and had not finished.
                    src, sout, _ = aosrun("status", run_id, "--json", "--data", data)
                    st = output_of(sout) if src == 0 else None
                    if isinstance(st, dict) and st.get("status") != "completed":
                        totals["mid_run_kills"] += 1
                    cmd = resume
                    continue
                rc = p.returncode
                if rc == 0:
                    final_out = output_of(out)
                    break
                if cmd is resume and (rc == 66 or (rc == 74 and ("does not exist" in err
                                                                 or "holds no runs" in err))):
                    # Killed before the run (or its data directory) was
                    # recorded: start it again under the same id (the id is
                    # the start's idempotency key).
                    restarts += 1
                    cmd = start
                    continue
                fail("%s: %s exited %d after %d kills\n  stdout=%r\n  stderr=%r"
                     % (label, "resume" if cmd is resume else "start", rc, kills,
                        out[-500:], err[-500:]))
                break
            resumes = max(0, attempts - 1 - restarts)
            stats = stand.call("GET", "/stats")
            for k in KEYS:
                n = stats["requests_by_key"].get(k, 0)
                histogram[n] = histogram.get(n, 0) + 1
            dups = 0
            if final_out is not None:
                dups = check_run(label, run_id, data, stats, kills, expected, final_out)
            print("%s: %d kills, %d resumes, %d restarts, %d redeliveries %s"
                  % (label, kills, resumes, restarts, dups,
                     {k: stats["requests_by_key"].get(k) for k in KEYS
                      if stats["requests_by_key"].get(k, 0) != 1}), flush=True)
            totals["kills"] += kills
            totals["resumes"] += resumes
            totals["restarts"] += restarts
            totals["dups"] += dups

        # The kills must land inside runs, or the test proves little.
        if totals["mid_run_kills"] < RUNS * KILLS // 3:
            fail("only %d of %d kills landed while a run was in progress" % (totals["mid_run_kills"], totals["kills"]))
        mixed_runs(rng, stand, totals)

        # Kills while the first process creates the data directory: the
        # directory must still be usable afterwards (resume says there is no
        # run yet, or continues it; a start under the same id completes).
        hello = os.path.join(TMP, "hello.aos")
        with open(hello, "w") as f:
            f.write('workflow hi(name: string = "kill") {\n  output {greeting: "Hello, ${name}!"}\n}\n')
        bricked = []
        for i in range(CREATE_KILLS):
            data = os.path.join(TMP, "data-create-%d" % i)
            delay = (8 + 52 * i / max(1, CREATE_KILLS - 1) + rng.uniform(0, 3)) / 1000.0
            p = subprocess.Popen([AOSRUN, hello, "--run-id", "h", "--data", data], cwd=TMP, env=ENV,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                p.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                p.send_signal(signal.SIGKILL)
                p.wait()
                totals["kills"] += 1
            left = sorted(os.listdir(data)) if os.path.isdir(data) else []
            rc1, out1, err1 = aosrun("resume", "h", "--data", data)
            rc2, out2, err2 = aosrun(hello, "--run-id", "h", "--data", data)
            # Killed before anything was committed: no directory, or one with
            # only RocksDB's creation files ("holds no runs"), and nothing written.
            no_dir = rc1 == 74 and (("does not exist" in err1 and not left) or "holds no runs" in err1)
            if (rc1 not in (0, 66) and not no_dir) or rc2 != 0 or output_of(out2) != {"greeting": "Hello, kill!"}:
                bricked.append("killed after %.0f ms leaving %s: resume -> %d %s; start -> %d %s"
                               % (delay * 1000, left, rc1, err1.strip()[:160], rc2, err2.strip()[:160]))
        if bricked:
            fail("%d of %d data directories are unusable after a kill during their creation:\n  %s"
                 % (len(bricked), CREATE_KILLS, "\n  ".join(bricked)))
        else:
            print("%d kills during data directory creation: all recovered" % CREATE_KILLS)
    finally:
        stand.stop()
    print("seed %d: %d runs, %d kills (%d mid-run), %d resumes, %d restarts, %d duplicate deliveries; "
          "deliveries per key: %s; %.1f s"
          % (SEED, RUNS, totals["kills"], totals["mid_run_kills"], totals["resumes"], totals["restarts"], totals["dups"],
             ", ".join("%dx: %d keys" % (n, c) for n, c in sorted(histogram.items())),
             time.monotonic() - t0))


main()
if failures:
    print("%d failures (data kept in %s; rerun with seed %d)" % (len(failures), TMP, SEED))
    sys.exit(1)
shutil.rmtree(TMP, ignore_errors=True)
print("passed")
