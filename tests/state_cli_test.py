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
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "standin"))
from harness import Checks, show  # noqa: E402

if len(sys.argv) != 2:
    sys.exit("usage: state_cli_test.py PATH/TO/aosrun")
AOSRUN = os.path.abspath(sys.argv[1])
TMP = tempfile.mkdtemp(prefix="state_cli_")
ENV = {k: v for k, v in os.environ.items() if not k.startswith("AOS_")}
check = Checks()


def run(*args):
    p = subprocess.run([AOSRUN, *args], cwd=TMP, env=ENV, capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def last_json(out):
    lines = [l for l in out.splitlines() if l.strip()]
    try:
        return json.loads(lines[-1]) if lines else None
    except ValueError:
        return None


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
          rc == 0 and "entity Lead v1 {" in out and "score: double = 0.0" in out, show(rc, out, err))
    rc, out, err = run("schema", "Lead", "--json", "--data", data)
    try:
        got = json.loads(out)
    except ValueError:
        got = None
    check("aosrun schema --json", rc == 0 and isinstance(got, dict) and got.get("Lead", {}).get("version") == 1
          and "key email: string" in got.get("Lead", {}).get("text", ""), show(rc, out, err))
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
    rc, out, err = run("trace", "m-1", "--data", data)
    check("trace lists the entity keys each statement read and wrote",
          rc == 0 and "wrote Subscriber:ann@x" in out and "wrote Subscriber:@ann->ann@x" in out
          and "read Subscriber:ann@x" in out, show(rc, out, err))
    rc, out, err = run("trace", "m-1", "--json", "--data", data)
    check("trace --json carries them as aos.entities.* attributes",
          rc == 0 and "aos.entities.written" in out and "aos.entities.read" in out, show(rc, out, err))


PERSON_V1 = "entity Person { key id: string  first: string  last: string  score: int = 0 }\n"
PERSON_V2 = "entity Person { key id: string  name: string  score: int = 0 }\n"
MIGRATION = ("migration Person v1 -> v2 {\n  name: \"${it.first} ${it.last}\"\n"
             "  score: it.score + 100 / SIZE\n  drop first, last\n}\n")


def migrations():
    data = os.path.join(TMP, "migrate")
    v1 = write("p1.aos", PERSON_V1 + "workflow w(xs: list<int>) {\n  for x in xs {\n"
               '    step u = Person.upsert({id: "p${x}", first: "F${x}", last: x == 700 ? "" : "L${x}"})\n'
               "  }\n  output size(u)\n}\n")
    rc, out, err = run(v1, "--data", data, "--input-json", json.dumps({"xs": list(range(1000))}))
    check("1,000 Person records as v1", rc == 0, show(rc, out, err))
    reader = PERSON_V2 + 'workflow r() {\n  step p = Person.get("p3")\n  output p\n}\n'
    bad = write("p2_bad.aos", reader + MIGRATION.replace("SIZE", "size(it.last)"))
    rc, out, err = run("migrate", "Person", bad, "--data", data)
    check("a migration that fails on one record stops there (65), naming it",
          rc == 65 and "Person 'p700'" in err and "division by zero" in err, show(rc, out, err))
    rc, out, err = run(v1, "--data", data, "--input-json", '{"xs": []}')
    check("while a migration is unfinished no run declaring the entity starts (65)",
          rc == 65 and "is being migrated" in err, show(rc, out, err))
    good = write("p2.aos", reader + MIGRATION.replace("SIZE", "max([size(it.last), 1])"))
    rc, out, err = run(good, "--data", data, "--json")
    got = last_json(out) or {}
    check("aosrun FILE finishes the migration after the fix, then runs",
          rc == 0 and got.get("output") == {"id": "p3", "name": "F3 L3", "score": 50}
          and "migration Person v1 -> v2: done, 1000 records" in err, show(rc, out, err))
    rc, out, err = run("state", "Person", "--data", data)
    recs = [json.loads(l) for l in out.splitlines() if l.strip()]
    check("every record migrated exactly once (a second pass would fail or add 100 again)",
          rc == 0 and len(recs) == 1000 and all("first" not in r and r["score"] in (50, 100, 33, 25) for r in recs)
          and {r["id"]: r for r in recs}["p700"] == {"id": "p700", "name": "F700 ", "score": 100},
          show(rc, out[:500], err))
    rc, out, err = run("history", "Person", "p3", "--data", data)
    check("history shows the change and the migration once",
          rc == 0 and out.count("  changed  ") == 1 and out.count("  migrated  migrate Person v1 -> v2") == 1
          and 'name: null -> "F3 L3"' in out, show(rc, out, err))
    rc, out, err = run("schema", "Person", "--data", data)
    check("the kept schema is v2", rc == 0 and "entity Person v2 {" in out, show(rc, out, err))
    rc, out, err = run("migrate", "Person", good, "--data", data)
    check("migrate again: nothing to migrate (the stored version is v2)",
          rc == 0 and "nothing to migrate" in out, show(rc, out, err))
    rc, out, err = run("migrate", "Person", v1, "--data", data)
    check("migrate with a file without the migration: 65", rc == 65 and "no migration of Person from v2" in err,
          show(rc, out, err))


def waiting_across_migration():
    # A run of v1 waits for a decision; the entity is migrated meanwhile;
    # continued, its entity call fails with entity.schema instead of
    # writing a record of the old shape.
    data = os.path.join(TMP, "across")
    v1 = write("a1.aos", PERSON_V1 + "workflow w() {\n"
               '  step u = Person.upsert({id: "p1", first: "A", last: "B"})\n'
               '  approval go {\n    ask "go?"\n    timeout 1h\n  } after u\n'
               '  step v = Person.upsert({id: "p2", first: "C", last: "D"}) after go\n  output v.id\n}\n')
    rc, out, err = run(v1, "--data", data, "--run-id", "across-1")
    check("a v1 run waits for its approval (75)", rc == 75, show(rc, out, err))
    v2 = write("a2.aos", PERSON_V2 + 'workflow r() {\n  step p = Person.get("p1")\n  output p.name\n}\n'
               + MIGRATION.replace("SIZE", "1"))
    rc, out, err = run("migrate", "Person", v2, "--data", data)
    check("the entity is migrated while the run waits", rc == 0, show(rc, out, err))
    rc, out, err = run("approve", "across-1", "go", "--data", data, "--json")
    got = last_json(out) or {}
    check("the continued v1 run fails its entity call with entity.schema, writing nothing of the old shape",
          got.get("status") == "failed" and got.get("error", {}).get("kind") == "entity.schema", show(rc, out, err))
    rc, out, err = run("state", "Person", "--data", data)
    check("no record of the old shape was written", rc == 0 and '"first"' not in out, show(rc, out, err))


def upgrade_keeps_schemas():
    # resume --upgrade keeps what the new file brings (a transform version),
    # as a run's start does, and refuses a file that disagrees with the data
    # directory, leaving the run where it was.
    data = os.path.join(TMP, "upgrade")
    row = "type Row { name: string }\n"
    t1 = 'transform lead_of v1 (r: Row) -> Lead {\n  email: "${r.name}@x"\n  name: r.name\n}\n'
    t2 = 'transform lead_of v2 (r: Row) -> Lead {\n  email: "${r.name}@x"\n  name: upper(r.name)\n}\n'
    flow = ('workflow w() {\n  step u = Lead.upsert(lead_of({name: "a"}))\n'
            '  approval go {\n    ask "go?"\n    timeout 1h\n  } after u\n'
            '  step v = Lead.upsert(VERSION({name: "b"})) after go\n  output v.name\n}\n')
    v1 = write("up1.aos", row + LEAD + t1 + flow.replace("VERSION", "lead_of"))
    rc, out, err = run(v1, "--data", data, "--run-id", "up-1")
    check("upgrade: a v1 run waits for its approval (75)", rc == 75, show(rc, out, err))
    other_body = write("up-bad.aos", row + LEAD + t1.replace("name: r.name", "name: lower(r.name)")
                       + flow.replace("VERSION", "lead_of"))
    rc, out, err = run("resume", "up-1", "--upgrade", other_body, "--data", data)
    check("upgrade to a kept transform version with another body: 65, E181",
          rc == 65 and "E181" in err and "lead_of" in err, show(rc, out, err))
    other_shape = write("up-shape.aos", row + LEAD.replace("score: double", "score: int").replace("0.0", "0") + t1
                        + flow.replace("VERSION", "lead_of"))
    rc, out, err = run("resume", "up-1", "--upgrade", other_shape, "--data", data, "--force")
    check("upgrade to another shape of a stored entity: 65, even with --force",
          rc == 65 and "score" in err, show(rc, out, err))
    rc, out, err = run("status", "up-1", "--data", data, "--json")
    check("the refused upgrades left the run waiting", rc == 0 and (last_json(out) or {}).get("status") == "waiting",
          show(rc, out, err))
    v2 = write("up2.aos", row + LEAD + t2 + flow.replace("VERSION", "lead_of"))
    rc, out, err = run("resume", "up-1", "--upgrade", v2, "--data", data)
    check("upgrade to a file with a new transform version: accepted, still waiting", rc == 75, show(rc, out, err))
    rc, out, err = run("approve", "up-1", "go", "--data", data, "--json")
    check("the upgraded run uses v2", (last_json(out) or {}).get("output") == "B", show(rc, out, err))
    changed_v2 = write("up3.aos", row + LEAD + t2.replace("upper(", "lower(") + flow.replace("VERSION", "lead_of"))
    rc, out, err = run(changed_v2, "--data", data)
    check("the upgrade kept v2's body: another body under v2 is refused (E181)",
          rc == 65 and "E181" in err, show(rc, out, err))


def history_of_merges():
    data = os.path.join(TMP, "merges")
    rc, out, err = run("history", "Subscriber", "ann@x", "--data", data)
    check("history of the survivor shows the merge and the fields it gained",
          rc == 0 and "merged from" in out and '"@ann"' in out, show(rc, out, err))
    rc, out, err = run("history", "Subscriber", "@ann", "--data", data)
    check("history of the merged key ends with the merge and says where it leads",
          rc == 0 and "merged into ann@x" in out and "@ann now leads to ann@x" in out, show(rc, out, err))
    rc, out, err = run("history", "Subscriber", "ann@x", "--json", "--data", data)
    lines = [json.loads(l) for l in out.splitlines() if l.strip()]
    check("history --json: one object per change", rc == 0 and len(lines) == 2
          and lines[0]["kind"] == "changed" and lines[1]["kind"] == "merged", show(rc, out, err))
    rc, out, err = run("state", "Subscriber", "@ann", "--data", data)
    check("state of a merged key is the survivor", rc == 0 and '"id":"ann@x"' in out, show(rc, out, err))
    rc, out, err = run("state", "Subscriber", "ann@x", "--at", "2000-01-01T00:00:00Z", "--data", data)
    check("state --at before the record existed: 66", rc == 66, show(rc, out, err))
    rc, out, err = run("state", "Subscriber", "ann@x", "--at", "yesterday", "--data", data)
    check("state --at with a bad time: 64", rc == 64, show(rc, out, err))


schemas()
merges()
migrations()
waiting_across_migration()
upgrade_keeps_schemas()
history_of_merges()
check.finish(TMP)
