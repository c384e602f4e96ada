#!/usr/bin/env python3
"""End-to-end tests of the aoscheck binary: exit codes, output formats, help.

Usage: aoscheck_cli_test.py PATH/TO/aoscheck   (run by CTest)
Prints 'N passed, M failed' and exits non-zero on any failure.
"""
import json
import os
import subprocess
import sys
import tempfile

AOSCHECK = os.path.abspath(sys.argv[1])
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
passed = failed = 0


def run(*args, stdin=None):
    p = subprocess.run([AOSCHECK, *args], cwd=ROOT, capture_output=True, text=True,
                       input=stdin, timeout=60)
    return p.returncode, p.stdout, p.stderr


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print(f"FAIL: {name}\n{detail}")


def write(text):
    f = tempfile.NamedTemporaryFile("w", suffix=".aos", delete=False)
    f.write(text)
    f.close()
    return f.name


# Clean files exit 0 and say so.
rc, out, err = run("examples/hello.aos", "examples/weekly_newsletter.aos")
check("clean files exit 0", rc == 0, err)
check("clean files are summarised", "2 files checked, no errors" in err, err)

# Errors exit 65 and print file:line:col: error[CODE], the line and a caret.
bad = write("workflow w() {\n  step outline = http.get(\"https://x\")\n  output outlne.text\n}\n")
rc, out, err = run(bad)
check("errors exit 65", rc == 65, err)
check("diagnostic header", f"{bad}:3:10: error[E100]: unknown name 'outlne'" in err, err)
check("source line and caret", " 3 |   output outlne.text\n   |          ^~~~~~\n" in err, err)
check("did-you-mean hint", "hint: did you mean 'outline'?" in err, err)

# --json gives the same diagnostics as data, with ranges.
rc, out, err = run("--json", bad)
check("--json exits 65 on errors", rc == 65)
data = json.loads(out)
check("--json is a list of diagnostics", isinstance(data, list) and len(data) == 1, out)
d = data[0]
check("--json fields", d["code"] == "E100" and d["severity"] == "error"
      and d["range"]["start"] == {"line": 3, "column": 10, "offset": d["range"]["start"]["offset"]}
      and d["range"]["end"]["column"] == 16 and d["hints"] == ["did you mean 'outline'?"], out)
rc, out, err = run("--json", "examples/hello.aos")
check("--json on a clean file prints []", rc == 0 and out.strip() == "[]", out)

# Warnings alone exit 0.
warn = write("workflow w() {\n  approval a { ask \"ok?\" }\n  output a.approved\n}\n")
rc, out, err = run(warn)
check("warnings exit 0", rc == 0 and "warning[W200]" in err, err)

# Usage errors exit 64; unreadable files 74.
rc, out, err = run()
check("no arguments is a usage error", rc == 64 and "usage:" in err, err)
rc, out, err = run("--frobnicate", "x.aos")
check("unknown option is a usage error", rc == 64 and "unknown option --frobnicate" in err, err)
rc, out, err = run("/nonexistent/file.aos")
check("unreadable file exits 74", rc == 74 and "cannot read /nonexistent/file.aos" in err, err)

# --help on every command.
for args in (["--help"], ["plan", "--help"], ["eval", "--help"], ["-h"]):
    rc, out, err = run(*args)
    check(f"{' '.join(args)} prints help", rc == 0 and "aoscheck" in out and len(out) > 200, out + err)

# eval prints JSON values; doubles keep their point, big ints stay exact.
cases = [
    ("1 + 2", "3"), ("1.0", "1.0"), ("double(1) + 2.0", "3.0"),
    ("9223372036854775807", "9223372036854775807"), ("18446744073709551615u", "18446744073709551615"),
    ('"Hello ${name}!"', '"Hello Ada!"'), ("[1, 2.5, \"x\", null, true]", '[1,2.5,"x",null,true]'),
    ("{b: 1, a: 2}", '{"b":1,"a":2}'), ("1h30m", '"1h30m"'), ("2.50 usd", '{"amount":"2.50","currency":"usd"}'),
    ("n * 2", "84"),
]
for expr, want in cases:
    rc, out, err = run("eval", expr, "--input", "name=Ada", "--input", "n=42")
    check(f"eval {expr}", rc == 0 and out.strip() == want, f"rc={rc} out={out!r} err={err!r}")
rc, out, err = run("eval", "1 + 2.0")
check("eval type error exits 1", rc == 1 and "no such overload: int + double" in err, err)
rc, out, err = run("eval", "1 / 0")
check("eval division by zero exits 1", rc == 1 and "division by zero" in err, err)
rc, out, err = run("eval", "1 +")
check("eval syntax error exits 65", rc == 65 and "expected an operand" in err, err)

# plan: keys evaluated from inputs, summary line, JSON form, bad inputs.
rc, out, err = run("plan", "examples/weekly_newsletter.aos", "--input", "week=2026-W48")
check("plan exits 0", rc == 0, err)
check("plan evaluates the key", 'key: "publish-2026-W48"' in out, out)
check("plan summary", "Plan: 1 effect (1 compensable), 1 approval, 1 model call, 1 entity write" in out, out)
rc, out, err = run("plan", "examples/weekly_newsletter.aos")
check("plan without inputs shows the key as written", 'key: "publish-${week}"' in out, out)
rc, out, err = run("plan", "examples/weekly_newsletter.aos", "--json", "--input", "week=W1",
                   "--config", "examples/aos.yaml")
plan = json.loads(out)
check("plan --json", plan["summary"]["effects"] == 1 and plan["summary"]["model_calls"] == 1
      and "cost" in plan and plan["steps"][0]["name"] == "signals", out)
rc, out, err = run("plan", "examples/weekly_newsletter.aos", "--input", "wek=1")
check("plan with an unknown input is a usage error", rc == 64 and "has no parameter 'wek'" in err, err)
rc, out, err = run("plan", "examples/nurture.aos", "--input", "limit=many")
check("plan with an ill-typed input is a usage error", rc == 64 and "'many' is not an int" in err, err)

# --dot draws the DAG.
rc, out, err = run("--dot", "examples/weekly_newsletter.aos")
check("--dot", rc == 0 and out.startswith('digraph "weekly_issue"') and "->" in out
      and 'label="effect publish"' in out, out)

# A bad config names the file, the line and the key.
cfg = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
cfg.write("models:\n  small:\n    base_url: http://x\n    model: m\n    prise: 1\n")
cfg.close()
rc, out, err = run("--config", cfg.name, "examples/hello.aos")
check("bad config", rc == 65 and f"{cfg.name}:5: unknown key 'models.small.prise'" in err, err)

# Unknown models are found with a config.
rc, out, err = run("--config", "examples/aos.yaml", "tests/golden/calls/unknown_model.aos")
check("unknown model with config", rc == 65 and "E131" in err, err)

# aoscheck test: the newsletter offline, against its mock file.
env_no_secret = {k: v for k, v in os.environ.items() if k != "CMS_TOKEN"}
p = subprocess.run([AOSCHECK, "test", "examples/weekly_newsletter.aos", "--mock",
                    "examples/mocks/weekly_newsletter.yaml", "--json"], capture_output=True, text=True,
                   cwd=ROOT, env=env_no_secret)
t = json.loads(p.stdout or "{}")
check("test: the newsletter completes offline", p.returncode == 0 and t.get("status") == "completed"
      and t.get("output") == {"url": "https://cms.example/posts/42", "signals_used": 1, "approved": True},
      p.stdout + p.stderr)
check("test: the calls and the effect key", [c["call"] for c in t.get("calls", [])]
      == ["analytics.get", "writer.ask", "cms.post"] and t["calls"][2]["key"] == "publish-2026-W48", t)
check("test: the approval was scripted", "approval review: approved" in t.get("notes", []), t)

mock = write("inputs: {week: W1}\ncalls:\n  - call: analytics.*\n    result: {json: {items: []}}\n"
             "  - call: writer.ask\n    error: {kind: http.503}\n")
rc, out, err = run("test", "examples/weekly_newsletter.aos", "--mock", mock)
check("test: a mocked failure fails the run (exit 1)", rc == 1 and "http.503" in out, out + err)
mock = write("inputs: {week: W1}\ncalls:\n  - call: analytics.get\n    result: {json: {items: []}}\n"
             "  - call: writer.ask\n    result: {data: {title: T, sections: [], summary: s}}\n")
rc, out, err = run("test", "examples/weekly_newsletter.aos", "--mock", mock)
check("test: an approval the mock does not script waits (75)", rc == 75
      and "approval review is not in the mock file" in out, out + err)
mock = write("calls:\n  - result: {}\n")
rc, out, err = run("test", "examples/hello.aos", "--mock", mock)
check("test: a bad mock names file and line (64)", rc == 64 and f"{mock}:2:" in err and "needs 'call'" in err, err)
rc, out, err = run("test", "examples/hello.aos")
check("test without --mock is a usage error", rc == 64 and "--mock" in err, err)
rc, out, err = run("test", "--help")
check("test --help", rc == 0 and "offline" in out, out)

# test seeds the store: entities (the seeded record is found by its
# identity, summarized, followed up), kb entries; a bad seed is refused.
p = subprocess.run([AOSCHECK, "test", "examples/subscriber_follow_up.aos", "--workflow", "nudge", "--config",
                    "examples/aos.yaml", "--mock", "examples/mocks/subscriber_follow_up.yaml", "--json"],
                   capture_output=True, text=True, cwd=ROOT)
t = json.loads(p.stdout or "{}")
check("test: seeded entities and kb entries are there for the run", p.returncode == 0
      and t.get("output") == {"subscriber": "ga4:ann@example.com", "tier": "customer", "sent": True},
      p.stdout + p.stderr)
seeded = write('entity Lead { key email: string  score: double = 0.0 }\n'
               'workflow s() {\n  step l = Lead.get("a@x")\n  step k = kv.get("week")\n'
               '  output {score: l.score, week: k}\n}\n')
mock = write("seed:\n  entities:\n    Lead: [{email: a@x, score: 0.5}]\n  kv: {week: W47}\n")
rc, out, err = run("test", seeded, "--mock", mock, "--json")
t = json.loads(out or "{}")
check("test: a seeded record and kv value are read", rc == 0 and t.get("output") == {"score": 0.5, "week": "W47"},
      out + err)
mock = write("seed:\n  entities:\n    Lead: [{email: a@x, colour: red}]\n")
rc, out, err = run("test", seeded, "--mock", mock)
check("test: a seeded record with an undeclared field fails, named", rc == 1 and "colour" in out, out + err)
mock = write("seed:\n  entities:\n    Nobody: [{id: x}]\n")
rc, out, err = run("test", seeded, "--mock", mock)
check("test: seeding an unknown entity fails, named", rc == 1 and "Nobody is not an entity" in out, out + err)
mock = write("seed:\n  kb:\n    docs: [{text: no id}]\n")
rc, out, err = run("test", seeded, "--mock", mock)
check("test: a kb entry without an id is a bad mock (64) with its line", rc == 64 and "needs 'id'" in err, err)

# test decides approvals as aosrun approve does: approvers and returns hold.
gated = write('type Terms { days: int }\nworkflow g() {\n'
              '  approval ok { ask "go?" approvers ["ada"] returns Terms timeout 1h }\n'
              '  output ok.data.days\n}\n')
mock = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
mock.write("approvals:\n  ok: {approved: true, by: eve, data: {days: 30}}\n")
mock.close()
rc, out, err = run("test", gated, "--mock", mock.name)
check("test: a mock decision by someone not among the approvers is refused (the run waits)", rc == 75
      and "refused" in out and "eve may not decide" in out, out + err)
mock = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
mock.write("approvals:\n  ok: {approved: true, by: ada, data: {days: 30}}\n")
mock.close()
rc, out, err = run("test", gated, "--mock", mock.name, "--json")
check("test: the approver's decision with its returns data completes the run", rc == 0
      and json.loads(out).get("output") == 30, out + err)

# plan lists the triggers of the workflow with their next five fire times.
trig = write('workflow issue(week: string) {\n  output week\n}\n'
             'trigger monday {\n  schedule "0 9 * * MON"\n  timezone "Europe/Berlin"\n'
             '  start issue(week: format_time(fired_at, "%G-W%V", "Europe/Berlin"))\n}\n')
rc, out, err = run("plan", trig)
check("plan lists the triggers with their next five fire times", rc == 0 and "trigger monday: schedule" in out
      and out.count("fires at ") == 5, out + err)
rc, out, err = run("plan", trig, "--json")
j = json.loads(out) if rc == 0 else {}
check("plan --json has the triggers", j.get("triggers", [{}])[0].get("trigger") == "monday"
      and len(j["triggers"][0]["next"]) == 5, out + err)
both = write('workflow a() {\n  signal s "go"\n  output s.data\n}\n'
             'workflow b() {\n  output 1\n}\n'
             'trigger hourly {\n  every 1h\n  start b()\n}\n'
             'trigger go {\n  webhook "/hooks/go"\n  auth bearer(secret("T"))\n  signal "go" to request.json.run\n}\n')
rc, out, err = run("plan", both, "--workflow", "b")
check("plan: an every trigger lists its next five fires too", rc == 0 and "trigger hourly: every" in out
      and out.count("fires at ") == 5, out + err)
check("plan: a signal trigger is listed only for workflows that take its signal", "trigger go" not in out, out)
rc, out, err = run("plan", both, "--workflow", "a")
check("... and listed for the one that does", rc == 0 and "trigger go" in out, out + err)

# plan counts a loop's body once per item when the inputs tell the items,
# and says when the estimate can pass the budget.
loop = write('agent writer { model: "small" }\n'
             'workflow loop(topics: list<string>) {\n  budget 0.001 usd\n'
             '  for t in topics {\n    step d = writer.ask("Write about ${t}")\n  }\n  output d\n}\n')
cfg = os.path.join(ROOT, "examples", "aos.yaml")
rc, out, err = run("plan", loop, "--config", cfg, "--input-json", '{"topics": ["a", "b", "c"]}', "--json")
j = json.loads(out) if rc == 0 else {}
one = json.loads(run("plan", loop, "--config", cfg, "--input-json", '{"topics": ["a"]}', "--json")[1])
check("plan: a loop of 3 known items counts its model call 3 times, and 3 times the cost",
      j.get("summary", {}).get("model_calls") == 3 and one["summary"]["model_calls"] == 1
      and abs(float(j["cost"]["high"]) - 3 * float(one["cost"]["high"])) < 1e-9, out + err)
check("plan: an estimate that can pass the budget says so", "exceed the budget of 0.001" in j.get("budget", ""), out)
rc, out, err = run("plan", loop, "--config", cfg)
check("plan: without the items, the loop is counted once and the plan says why", rc == 0
      and "its body counted once" in out, out + err)

# --together: the files as one `aosrun serve` loads them (E175); without it
# each file is checked alone.
served = os.path.join(ROOT, "tests", "golden_served")
same = [os.path.join(served, "same_workflow", f) for f in ("a.aos", "b.aos")]
rc, out, err = run(*same)
check("files with the same workflow check alone (0)", rc == 0, out + err)
rc, out, err = run("--together", *same)
check("--together refuses them (65), E175 at the later file naming the earlier", rc == 65 and "E175" in err
      and "b.aos:1:10" in err and "a.aos" in err.split("E175")[1], out + err)
rc, out, err = run("--together", "--json", *[os.path.join(served, "same_trigger_and_path", f) for f in ("a.aos", "b.aos")])
codes = [d["code"] for d in json.loads(out)] if out.startswith("[") else []
check("--together --json: the trigger name and the webhook path", rc == 65 and codes == ["E175", "E175"], out + err)
rc, out, err = run("--together", *[os.path.join(served, "distinct", f) for f in ("a.aos", "b.aos")])
check("--together with distinct files is clean (0)", rc == 0 and "2 files checked, no errors" in err, out + err)

# builtins: the reference of calls and functions, as Markdown or JSON.
rc, out, err = run("builtins")
check("builtins exits 0", rc == 0, err)
check("builtins lists calls with their arguments",
      "| `email.send()` | `to:` string or list(string) (required)" in out, out[:400])
check("builtins lists functions", "| `s.contains(t) -> bool` |" in out, out[:400])
rc, out, err = run("builtins", "--json")
ref = json.loads(out)
calls = {c["call"]: c for c in ref["calls"]}
check("builtins --json: calls with typed arguments",
      calls["email.send"]["writes"] and calls["email.send"]["request"] == "email"
      and {"name": "subject", "type": "string", "required": True} in calls["email.send"]["named"]
      and calls["E.get"]["request"] == "inline", out[:400])
funcs = {f["name"]: f for f in ref["functions"]}
check("builtins --json: functions with arity", funcs["format_time"]["min_args"] == 2
      and funcs["format_time"]["max_args"] == 3 and funcs["format"]["max_args"] is None, out[-400:])
rc, out, err = run("builtins", "--help")
check("builtins --help", rc == 0 and "aoscheck builtins [--json]" in out, out)
rc, out, err = run("builtin")
check("a mistyped builtins gets a did-you-mean", rc == 64 and "did you mean 'builtins'" in err, err)

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
