#!/usr/bin/env python3
"""Kills during entity writes (state.md §1): parallel patches and merges.

Each workflow runs in a real aosrun on a real data directory; the process is
SIGKILLed at random moments, then `aosrun resume RUN` (killed too) until the
run completes. Afterwards a separate run reads the records back:

  - patches: 1,500 parallel items (`max 4`) each add 1 to one counter and
    their item to a list; the counter must be exactly 1,500 and the list hold
    every item once — no patch lost, none applied twice;
  - migrations: 20,000 records migrated v1 -> v2 (score: it.score + 1) by
    `aosrun migrate`, killed: every record ends with score 1 (none twice)
    and the schema at v2;
  - merges: 500 people arrive by email, then by handle, then by both (which
    merges the two records); there must be exactly 500 records, each with
    its email, its handle and both sources, every handle and every merged
    key leading to it — no merge half-done.
`aosrun verify` must pass on each data directory, and some kills must land
while a run is in progress.

Usage: state_kill_test.py PATH/TO/aosrun [SEED]   ($AOS_KILL_SEED too)
"""
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile

if len(sys.argv) not in (2, 3):
    sys.exit("usage: state_kill_test.py PATH/TO/aosrun [SEED]")
AOSRUN = os.path.abspath(sys.argv[1])
SEED = int(sys.argv[2]) if len(sys.argv) == 3 else int(os.environ.get("AOS_KILL_SEED", "1130"))
KILLS = int(os.environ.get("AOS_KILL_KILLS", "8"))
TMP = tempfile.mkdtemp(prefix="state_kill_")
ENV = {k: v for k, v in os.environ.items() if not k.startswith("AOS_")}
ITEMS = 1500
PEOPLE = 500
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, flush=True)


def write(name, text):
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def aosrun(*args):
    p = subprocess.run([AOSRUN, *args], cwd=TMP, env=ENV, capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def last_json(text):
    lines = [l for l in text.splitlines() if l.strip()]
    try:
        return json.loads(lines[-1]) if lines else None
    except ValueError:
        return None


COUNTER = "entity Counter { key id: string  n: int = 0  seen: list<int> = [] }\n"
PATCHES = COUNTER + """workflow bump(xs: list<int>) {
  for x in xs max 4 {
    step p = Counter.patch("c", {n: it.n + 1, seen: union(it.seen, [x])})
  }
  output "done" after p
}
"""
READ_COUNTER = COUNTER + """workflow read() {
  step c = Counter.get("c")
  output {n: c.n, seen: size(c.seen), distinct: size(union([], c.seen))}
}
"""

SUBSCRIBER = """entity Subscriber {
  key id: string
  identity email: string?
  identity handle: string?
  sources: list<string> = []
}
"""
MERGES = SUBSCRIBER + """workflow ingest(xs: list<int>) {
  for i in xs max 3 {
    step by_mail = Subscriber.upsert({email: "p${i}@x", sources: ["mail"]})
    step by_handle = Subscriber.upsert({id: "h-${i}", handle: "@p${i}", sources: ["social"]}) after by_mail
    step both = Subscriber.upsert({email: "p${i}@x", handle: "@p${i}"}) after by_handle
  }
  output "done" after both
}
"""
READ_SUBSCRIBERS = SUBSCRIBER + """workflow read(xs: list<int>) {
  step all = Subscriber.list()
  for i in xs {
    step by_handle = Subscriber.resolve({handle: "@p${i}"})
    step by_key = Subscriber.get("h-${i}")
  }
  output {
    count: size(all),
    whole: all.filter(s, s.email != null && s.handle != null && "mail" in s.sources && "social" in s.sources).size(),
    handles: by_handle.filter(k, k != null && k.startsWith("p")).size(),
    keys: by_key.filter(r, r != null && r.id == r.email).size()
  }
}
"""


PERSON_V1 = "entity Person { key id: string  first: string  last: string  score: int = 0 }\n"
MAKE_PEOPLE = PERSON_V1 + """workflow make(xs: list<int>) {
  for x in xs {
    step u = Person.upsert({id: "p${x}", first: "F${x}", last: "L${x}"})
  }
  output size(u)
}
"""
MIGRATE_PEOPLE = """entity Person { key id: string  name: string  score: int = 0 }
migration Person v1 -> v2 {
  name: "${it.first} ${it.last}"
  score: it.score + 1
  drop first, last
}
workflow read() {
  step all = Person.list()
  output {n: size(all), once: all.filter(p, p.score == 1 && p.name.startsWith("F")).size()}
}
"""
MIGRATED = 20000


def migrate_killed(rng, data, people, totals):
    # The records, then the migration killed until it finishes.
    rc, out, err = aosrun(write("make_people.aos", MAKE_PEOPLE), "--data", data,
                          "--input-json", json.dumps({"xs": list(range(MIGRATED))}))
    if rc != 0:
        fail("making the records: %d %s" % (rc, err[-400:]))
        return
    kills = 0
    for _ in range(KILLS + 20):
        killed, rc, out, err = run_killed([AOSRUN, "migrate", "Person", people, "--data", data],
                                          rng.uniform(0.010, 0.150) if kills < KILLS else None)
        if killed:
            kills += 1
            rc, sout, _ = aosrun("schema", "Person", "--json", "--data", data)
            st = last_json(sout) if rc == 0 else None
            if isinstance(st, dict) and st.get("Person", {}).get("version") == 1:
                totals["mid_run"] += 1
            continue
        if rc == 0:
            totals["kills"] += kills
            print("migration: %d kills" % kills, flush=True)
            break
        fail("migrate exited %d after %d kills\n%s%s" % (rc, kills, out[-400:], err[-400:]))
        return
    check("migration", data, people, [], {"n": MIGRATED, "once": MIGRATED})


def run_killed(cmd, after):
    """Runs cmd; SIGKILLs it `after` seconds in (None: never). (killed, rc, stdout, stderr)."""
    p = subprocess.Popen(cmd, cwd=TMP, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed = False
    if after is not None:
        try:
            p.wait(timeout=after)
        except subprocess.TimeoutExpired:
            p.send_signal(signal.SIGKILL)
            killed = True
    out, err = p.communicate(timeout=120)
    return killed and p.returncode == -signal.SIGKILL, p.returncode, out, err


def killed_until_done(rng, label, wf, data, run_id, inputs, totals):
    start = [AOSRUN, wf, "--run-id", run_id, "--data", data] + inputs
    resume = [AOSRUN, "resume", run_id, "--data", data]
    cmd, kills = start, 0
    for _ in range(KILLS + 20):
        killed, rc, out, err = run_killed(cmd, rng.uniform(0.005, 0.060) if kills < KILLS else None)
        if killed:
            kills += 1
            rc, sout, _ = aosrun("status", run_id, "--json", "--data", data)
            st = last_json(sout) if rc == 0 else None
            if isinstance(st, dict) and st.get("status") != "completed":
                totals["mid_run"] += 1
            cmd = resume
            continue
        if rc == 0:
            totals["kills"] += kills
            print("%s: %d kills" % (label, kills), flush=True)
            return True
        if cmd is resume and (rc == 66 or (rc == 74 and (
                "does not exist" in err or "holds no runs" in err))):
            cmd = start  # killed before the run was recorded: start it again, same id
            continue
        fail("%s: exited %d after %d kills\n%s%s" % (label, rc, kills, out[-400:], err[-400:]))
        return False
    fail("%s: no completion" % label)
    return False


def check(label, data, wf, inputs, want):
    rc, out, err = aosrun(wf, "--data", data, *inputs)
    got = last_json(out)
    if rc != 0 or got != want:
        fail("%s: read back %r (rc %d), want %r\n%s" % (label, got, rc, want, err[-400:]))
    rc, out, err = aosrun("verify", "--data", data)
    if rc != 0:
        fail("%s: verify exited %d\n%s%s" % (label, rc, out[-400:], err[-400:]))


def main():
    rng = random.Random(SEED)
    totals = {"kills": 0, "mid_run": 0}
    patches, merges = write("patches.aos", PATCHES), write("merges.aos", MERGES)
    read_counter, read_subs = write("read_counter.aos", READ_COUNTER), write("read_subs.aos", READ_SUBSCRIBERS)
    for r in range(3):
        data = os.path.join(TMP, "patches-%d" % r)
        if killed_until_done(rng, "patches %d" % r, patches, data, "p-%d" % r, ["--input-json", json.dumps({"xs": list(range(ITEMS))})], totals):
            check("patches %d" % r, data, read_counter, [], {"n": ITEMS, "seen": ITEMS, "distinct": ITEMS})
    for r in range(3):
        data = os.path.join(TMP, "merges-%d" % r)
        n = ["--input-json", json.dumps({"xs": list(range(PEOPLE))})]
        if killed_until_done(rng, "merges %d" % r, merges, data, "m-%d" % r, n, totals):
            check("merges %d" % r, data, read_subs, n,
                  {"count": PEOPLE, "whole": PEOPLE, "handles": PEOPLE, "keys": PEOPLE})
    people = write("people_v2.aos", MIGRATE_PEOPLE)
    for r in range(2):
        migrate_killed(rng, os.path.join(TMP, "migrate-%d" % r), people, totals)
    if totals["mid_run"] < 4:
        fail("only %d of %d kills landed while a run was in progress" % (totals["mid_run"], totals["kills"]))
    print("%d kills, %d mid-run" % (totals["kills"], totals["mid_run"]), flush=True)


try:
    main()
finally:
    if not failures:
        shutil.rmtree(TMP, ignore_errors=True)
if failures:
    print("state_kill_test: %d failures (data kept in %s)" % (len(failures), TMP))
    sys.exit(1)
print("state_kill_test: ok")
