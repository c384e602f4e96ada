#!/usr/bin/env python3
"""Error kinds provoked for real over loopback, through aosrun, with their
retry behaviour: connection refused (net), a deadline (timeout), 500
(http.500, retried by default kinds), 429 with Retry-After (waited for),
404 (http.404, not retried by default), malformed JSON (the call succeeds
with json null), an oversized body (net), and a model server's 500, 429 and
non-JSON typed answers. Attempts are read from the run's log.

Usage: http_errors_test.py PATH/TO/aosrun
"""
import json
import os
import subprocess
import sys
import tempfile

AOSRUN = os.path.abspath(sys.argv[1])
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TMP = tempfile.mkdtemp(prefix="aos_http_errors_")
ENV = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy") and not k.startswith("AOS_")}
n = 0


def run_wf(text, *extra):
    """Runs a workflow in a fresh data directory: (rc, outcome, events)."""
    global n
    n += 1
    wf = os.path.join(TMP, "w%d.aos" % n)
    open(wf, "w").write(text)
    data = os.path.join(TMP, "d%d" % n)
    p = subprocess.run([AOSRUN, wf, "--data", data, "--json", "--run-id", "r", *extra], cwd=TMP,
                       capture_output=True, text=True, env=ENV, timeout=120)
    try:
        o = json.loads(p.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        o = {}
    log = subprocess.run([AOSRUN, "log", "r", "--data", data, "--json"], capture_output=True, text=True, env=ENV)
    events = [json.loads(l) for l in log.stdout.splitlines() if l.strip()]
    return p.returncode, o, events, p.stderr


def attempts(events, step="s"):
    return [e for e in events if e["type"] == "AttemptFailed" and e.get("step") == step]


sys.path.insert(0, os.path.join(ROOT, "tests", "standin"))
from harness import Checks, Standin  # noqa: E402

check = Checks()

stand = Standin(TMP)
try:
    B = stand.url

    # net: nothing listens; retried, then the run fails with kind net.
    rc, o, ev, err = run_wf('workflow w() {\n  step s = http.get("http://127.0.0.1:1/x") { retry 2 backoff 10ms }\n'
                            '  output s.status\n}\n')
    check("refused: fails with net after 1 + 2 attempts", rc == 1 and o.get("error", {}).get("kind") == "net"
          and len(attempts(ev)) == 3, (rc, o, err))

    # timeout: the server answers after 2 s, the attempt may take 200 ms.
    rc, o, ev, err = run_wf('workflow w() {\n  step s = http.get("%s/sleep/2000") { timeout 200ms retry 1 }\n'
                            '  output s.status\n}\n' % B)
    check("timeout: kind timeout, retried once", rc == 1 and o.get("error", {}).get("kind") == "timeout"
          and len(attempts(ev)) == 2, (rc, o, err))

    # 500 twice, then 200: the default retryable kinds include http.5xx.
    rc, o, ev, err = run_wf('workflow w() {\n  step s = http.get("%s/flaky/a?times=2&status=500") { retry 3 }\n'
                            '  output s.json.attempt\n}\n' % B)
    kinds = [e["data"]["kind"] for e in attempts(ev)]
    check("500 then 200: retried until it succeeds", rc == 0 and o.get("output") == 3 and kinds == ["http.500"] * 2,
          (rc, o, kinds, err))

    # 429 with Retry-After: 1 s: the next attempt waits at least that long.
    rc, o, ev, err = run_wf('workflow w() {\n  step s = http.get("%s/flaky/b?times=1&status=429&retry_after=1") '
                            '{ retry 2 backoff 10ms }\n  output s.json.attempt\n}\n' % B)
    fails = attempts(ev)
    check("429: retried after Retry-After", rc == 0 and o.get("output") == 2 and len(fails) == 1
          and fails[0]["data"]["kind"] == "http.429" and fails[0]["data"]["delay_ms"] >= 1000, (rc, o, fails, err))

    # 404: not a default retryable kind: one attempt, the run fails.
    rc, o, ev, err = run_wf('workflow w() {\n  step s = http.get("%s/flaky/c?times=5&status=404") { retry 3 }\n'
                            '  output s.status\n}\n' % B)
    check("404: not retried by default", rc == 1 and o.get("error", {}).get("kind") == "http.404"
          and len(attempts(ev)) == 1, (rc, o, err))
    # ... unless the statement says so.
    rc, o, ev, err = run_wf('workflow w() {\n  step s = http.get("%s/flaky/d?times=1&status=404") '
                            '{ retry 2 on [http.4xx] }\n  output s.json.attempt\n}\n' % B)
    check("404 with retry on [http.4xx]: retried", rc == 0 and o.get("output") == 2, (rc, o, err))

    # Malformed JSON in a 200: the call succeeds; json is null, body the text.
    rc, o, ev, err = run_wf('workflow w() {\n  step s = http.get("%s/badjson")\n'
                            '  output {json: s.json, body: s.body}\n}\n' % B)
    check("malformed JSON: json null, body kept", rc == 0 and o.get("output") == {"json": None, "body": "{not json"},
          (rc, o, err))

    # A body over the limit (16 MiB) fails the attempt with kind net.
    rc, o, ev, err = run_wf('workflow w() {\n  step s = http.get("%s/big/17000000")\n  output size(s.body)\n}\n' % B)
    check("oversized body: net, with the limit in the message", rc == 1 and o.get("error", {}).get("kind") == "net"
          and "exceeds the limit" in o.get("error", {}).get("message", ""), (rc, o, err))

    # The model server: 500 retried, 429 is llm.rate_limit, a non-JSON typed
    # answer is llm.schema and fails after the tries.
    cfg = os.path.join(TMP, "aos.yaml")
    open(cfg, "w").write("models:\n  small:\n    base_url: %s/v1\n    model: m\n"
                         "    price: {input_per_mtok: 1.0, output_per_mtok: 2.0}\n" % B)
    agent = ('type Outline { title: string  sections: list<string>  summary: string }\n'
             'agent writer { model: "small"  output: Outline }\n')
    rc, o, ev, err = run_wf(agent + 'workflow w() {\n  step s = writer.ask("FAIL_500 please") { retry 1 }\n'
                            '  output s.data.title\n}\n', "--config", cfg)
    check("model 500: kind http.500 after its retry", rc == 1 and o.get("error", {}).get("kind") == "http.500"
          and len(attempts(ev)) == 2, (rc, o, err))
    rc, o, ev, err = run_wf(agent + 'workflow w() {\n  step s = writer.ask("FAIL_429 please")\n'
                            '  output s.data.title\n}\n', "--config", cfg)
    check("model 429: llm.rate_limit", rc == 1 and o.get("error", {}).get("kind") == "llm.rate_limit", (rc, o, err))
    rc, o, ev, err = run_wf(agent + 'workflow w() {\n  step s = writer.ask("BAD_JSON please")\n'
                            '  output s.data.title\n}\n', "--config", cfg)
    check("a typed answer that is not JSON: llm.schema after three tries",
          rc == 1 and o.get("error", {}).get("kind") == "llm.schema" and len(attempts(ev)) == 3, (rc, o, err))
    # "content": null is no answer: llm.empty, never the text "null".
    rc, o, ev, err = run_wf('workflow w() {\n  step s = llm.chat(model: "small", prompt: "NULL_CONTENT please")\n'
                            '  output s.text\n}\n', "--config", cfg)
    check("a reply with content null: llm.empty", rc == 1 and o.get("error", {}).get("kind") == "llm.empty"
          and o.get("output") != "null", (rc, o, err))
    rc, o, ev, err = run_wf(agent + 'workflow w() {\n  step s = writer.ask("Draft an outline")\n'
                            '  output s.data\n}\n', "--config", cfg)
    check("a valid typed answer is typed", rc == 0 and set(o.get("output", {}).keys()) == {"title", "sections", "summary"},
          (rc, o, err))
    rc, o, ev, err = run_wf('workflow w() {\n  step e = llm.embed(model: "small", text: "durable workflows")\n'
                            '  step f = llm.embed(model: "small", text: "durable workflows")\n'
                            '  step g = llm.embed(model: "small", text: "pricing pages")\n'
                            '  output {n: size(e), e: e, same: e == f, differs: e != g}\n}\n', "--config", cfg)
    out = o.get("output", {})
    check("llm.embed: a vector of 8 numbers from /v1/embeddings, the same for the same text, another for another",
          rc == 0 and out.get("n") == 8 and all(isinstance(x, float) for x in out.get("e", []))
          and out.get("same") is True and out.get("differs") is True, (rc, o, err))
    # Embeddings are priced like prompts: they appear in `aosrun cost`.
    p = subprocess.run([AOSRUN, "cost", "r", "--data", os.path.join(TMP, "d%d" % n), "--json"],
                       capture_output=True, text=True, env=ENV)
    rows = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
    check("llm.embed is in aosrun cost with its tokens and cost", p.returncode == 0 and len(rows) == 1
          and rows[0]["model"] == "small" and rows[0]["calls"] == 3 and rows[0]["tokens_in"] > 0
          and float(rows[0]["cost"]["amount"]) > 0, (p.returncode, p.stdout, p.stderr))
    # The knowledge base: kb.add embeds and stores, kb.search ranks by cosine.
    kcfg = os.path.join(TMP, "kb.yaml")
    open(kcfg, "w").write("models:\n  small:\n    base_url: %s/v1\n    model: m\nkb: {model: small}\n" % B)
    adds = ('  step a = kb.add("notes", "n1", "durable workflows survive crashes", meta: {tag: "a"})\n'
            '  step b = kb.add("notes", "n2", "cost control for model calls")\n')
    kb = ('workflow k() {\n' + adds +
          '  step c = kb.add("notes", "n3", "pricing pages that convert")\n'
          '  step found = kb.search("notes", "cost control for model calls", k: 2) after a, b, c\n'
          '  output {first: found[0].id, n: size(found), score: found[0].score > 0.99, added: a.id}\n}\n')
    rc, o, ev, err = run_wf(kb, "--config", kcfg)
    check("kb.add and kb.search: the same text ranks first", rc == 0 and o.get("output") ==
          {"first": "n2", "n": 2, "score": True, "added": "n1"}, (rc, o, err))
    # kb.delete removes an entry (true), a second time finds none (false);
    # the search no longer sees it.
    kbd = ('workflow k() {\n' + adds +
           '  step d1 = kb.delete("notes", "n2") after a, b\n'
           '  step d2 = kb.delete("notes", "n2") after d1\n'
           '  step found = kb.search("notes", "cost control for model calls", k: 5) after d2\n'
           '  output {d1: d1, d2: d2, ids: found.map(h, h.id)}\n}\n')
    rc, o, ev, err = run_wf(kbd, "--config", kcfg)
    check("kb.delete removes an entry once; the search no longer finds it", rc == 0 and o.get("output") ==
          {"d1": True, "d2": False, "ids": ["n1"]}, (rc, o, err))
    # where: keeps the entries it holds for (it: {id, text, meta, score}), best first.
    kbw = ('workflow k() {\n' + adds +
           '  step c = kb.add("notes", "n3", "pricing pages that convert", meta: {tag: "a"})\n'
           '  step found = kb.search("notes", "cost control for model calls", k: 5, '
           'where: it.meta != null && it.meta.tag == "a") after a, b, c\n'
           '  step none = kb.search("notes", "x", where: it.score > 2.0) after c\n'
           '  output {ids: found.map(h, h.id).sort(), none: size(none)}\n}\n')
    rc, o, ev, err = run_wf(kbw, "--config", kcfg)
    check("kb.search where: only the entries it holds for", rc == 0 and o.get("output") ==
          {"ids": ["n1", "n3"], "none": 0}, (rc, o, err))
    kbx = ('workflow k() {\n' + adds +
           '  step found = kb.search("notes", "x", where: it.meta.tag == "a") after a, b\n'
           '  output size(found)\n}\n')
    rc, o, ev, err = run_wf(kbx, "--config", kcfg)
    check("kb.search where: that fails on an entry fails the step (expr.error)", rc == 1 and
          o.get("error", {}).get("kind") == "expr.error" and "where:" in o.get("error", {}).get("message", ""),
          (rc, o, err))
    rc, o, ev, err = run_wf(kb)  # no kb model configured
    check("kb without kb.model in the config: llm.config", rc == 1 and o.get("error", {}).get("kind") == "llm.config"
          and "kb: {model" in o.get("error", {}).get("message", ""), (rc, o, err))
finally:
    stand.stop()

check.finish(TMP)
