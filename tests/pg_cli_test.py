#!/usr/bin/env python3
"""aosrun on the PostgreSQL store (docs/cluster.md), against the private
server the suite starts (tests/pg/pg_cluster.py): a run that waits, is
approved and read back by every reading command; a run SIGKILLed in the
middle and resumed with nothing lost or done twice; serve on the store,
started through the CLI; migrate-store; and the refusals (a server that
does not answer, a --store that is not a URL, a bad store: in the config),
with passwords kept out of every message.

Usage: pg_cli_test.py PATH/TO/aosrun PG_STATE_FILE   (run by CTest)
Prints 'N passed, M failed' and exits non-zero on any failure.
"""
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "standin"))
from harness import Checks, Standin, show  # noqa: E402

if len(sys.argv) != 3:
    sys.exit("usage: pg_cli_test.py PATH/TO/aosrun PG_STATE_FILE")
AOSRUN = os.path.abspath(sys.argv[1])
with open(sys.argv[2]) as f:
    SERVER = json.load(f)["url"]
TMP = tempfile.mkdtemp(prefix="pg_cli_")
ENV = {k: v for k, v in os.environ.items() if not k.startswith("AOS_")}
check = Checks()


def run(*args, timeout=120):
    p = subprocess.run([AOSRUN, *args], cwd=TMP, env=ENV, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def write(name, text):
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def database(name):
    """A database of this test's own on the server: its URL."""
    subprocess.run(["psql", SERVER, "-q", "-c", "DROP DATABASE IF EXISTS %s" % name], capture_output=True)
    p = subprocess.run(["psql", SERVER, "-q", "-c", "CREATE DATABASE %s" % name], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("FAIL: cannot create database %s: %s" % (name, p.stderr))
    return SERVER.rsplit("/", 1)[0] + "/" + name


WAITS = write("waits.aos", 'entity Lead { key email: string  n: int = 0 }\n'
              'workflow w(xs: list<int>) {\n  for x in xs max 4 {\n'
              '    step p = Lead.patch("a", {n: it.n + 1})\n  }\n'
              '  approval go {\n    ask "go?"\n    timeout 1h\n  } after p\n'
              '  step k = kv.put("k", "v") after go\n  output size(p)\n}\n')


def waits_and_reads():
    url = database("aos_cli_reads")
    store = ["--store", url, "--data-dir", os.path.join(TMP, "local-reads")]
    rc, out, err = run(WAITS, *store, "--input-json", json.dumps({"xs": list(range(20))}), "--run-id", "pg-1")
    check("a run on the PostgreSQL store waits for its approval (75)", rc == 75, show(rc, out, err))
    check("the follow-up commands name the store", "--store " + url in err, show(rc, out, err))
    rc, out, err = run("inbox", *store, "--json")
    check("inbox lists the approval", rc == 0 and '"go"' in out, show(rc, out, err))
    rc, out, err = run("approve", "pg-1", "go", *store, "--json")
    got = json.loads(out.splitlines()[-1]) if rc == 0 else {}
    check("approved, the run completes with every patch counted", got.get("output") == 20, show(rc, out, err))
    for cmd in (["status", "pg-1"], ["runs"], ["log", "pg-1"], ["trace", "pg-1"], ["state", "Lead", "a"],
                ["history", "Lead", "a"], ["schema"], ["cost"], ["verify"]):
        rc, out, err = run(*cmd, *store)
        check("%s reads the PostgreSQL store" % cmd[0], rc == 0, show(rc, out, err))
    rc, out, err = run("state", "Lead", "a", *store)
    check("the record holds 20", '"n":20' in out, show(rc, out, err))
    rc, out, err = run("verify", *store)
    check("verify finds no problems", "no problems" in out and url in out, show(rc, out, err))
    rc, out, err = run("migrate-store", "--store", url)
    check("migrate-store reports the schema", rc == 0 and "schema v3" in out, show(rc, out, err))
    rc, out, err = run("status", "pg-404", *store)
    check("an unknown run: 66", rc == 66, show(rc, out, err))


def killed_and_resumed():
    url = database("aos_cli_kill")
    store = ["--store", url, "--data-dir", os.path.join(TMP, "local-kill")]
    stand = Standin(TMP)
    try:
        many = write("many.aos", 'entity Counter { key id: string  n: int = 0 }\n'
                     'workflow m(xs: list<int>) {\n  for x in xs max 8 {\n'
                     '    step p = Counter.patch("c", {n: it.n + 1})\n'
                     '    effect e = http.post("%s/effects/pg-${x}") { key "pg-${x}" }\n  }\n'
                     '  output size(p)\n}\n' % stand.url)
        n = 1500
        p = subprocess.Popen([AOSRUN, many, *store, "--input-json", json.dumps({"xs": list(range(n))}),
                              "--run-id", "kill-1"],
                             cwd=TMP, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.0)
        alive = p.poll() is None
        p.send_signal(signal.SIGKILL)
        p.wait()
        check("the run was killed in the middle", alive, "it ended within 1 s: " + p.stderr.read()[-500:])
        rc, out, err = run("resume", "kill-1", *store, "--json", timeout=300)
        got = json.loads(out.splitlines()[-1]) if rc == 0 and out.strip() else {}
        check("resumed, it completes", got.get("status") == "completed" and got.get("output") == n,
              show(rc, out, err))
        rc, out, err = run("state", "Counter", "c", *store)
        check("no patch lost or applied twice", '"n":%d' % n in out, show(rc, out, err))
        by_key = stand.stats().get("requests_by_key", {})
        keys = [k for k in by_key if k.startswith("pg-")]
        # A key sent twice is an effect in doubt at the kill, retried with
        # its key (the receiver deduplicates): at most the 8 in flight.
        check("every effect reached the receiver, none more than twice, few retried",
              len(keys) == n and max(by_key[k] for k in keys) <= 2
              and sum(by_key[k] - 1 for k in keys) <= 8, sorted(by_key.items())[:5])
    finally:
        stand.stop()
    rc, out, err = run("verify", *store)
    check("the killed run's log verifies", rc == 0 and "no problems" in out, show(rc, out, err))


def patched_by_two():
    """Two processes (two workers) patching one record at once: every
    patch reads the other's last write (the entity writers' lock is the
    store's, not only a process's)."""
    url = database("aos_cli_patch")
    inc = write("inc.aos", 'entity Counter { key id: string  n: int = 0 }\n'
                'workflow inc(xs: list<int>) {\n  for x in xs max 4 {\n'
                '    step p = Counter.patch("c", {n: it.n + 1})\n  }\n'
                '  output size(p)\n}\n')
    n = 300
    procs = [subprocess.Popen([AOSRUN, inc, "--store", url, "--data-dir", os.path.join(TMP, "local-inc%d" % i),
                               "--input-json", json.dumps({"xs": list(range(n))}), "--run-id", "inc-%d" % i],
                              cwd=TMP, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    check("both patching runs completed", all(p.returncode == 0 for p in procs),
          [(p.returncode, o[1][-300:]) for p, o in zip(procs, outs)])
    rc, out, err = run("state", "Counter", "c", "--store", url, "--data-dir", os.path.join(TMP, "local-inc0"))
    check("no patch of one worker lost to the other's", '"n":%d' % (2 * n) in out, show(rc, out, err))


@contextlib.contextmanager
def serving(flow, url, local):
    """`aosrun serve FLOW` on the store, started (checked) and stopped."""
    p = subprocess.Popen([AOSRUN, "serve", flow, "--store", url, "--data-dir", local, "--listen", "127.0.0.1:0"],
                         cwd=TMP, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while not os.path.exists(os.path.join(local, "serve.json")) and time.monotonic() < deadline:
            if p.poll() is not None:
                break
            time.sleep(0.05)
        check("serve starts on the PostgreSQL store", p.poll() is None and
              os.path.exists(os.path.join(local, "serve.json")), p.stderr.read() if p.poll() is not None else "")
        yield p
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()


def served():
    url = database("aos_cli_serve")
    local = os.path.join(TMP, "local-serve")
    hello = write("hello.aos", 'workflow hello(name: string) {\n  step k = kv.put("greeted", name)\n'
                  '  output "hello ${name}"\n}\n')
    with serving(hello, url, local) as p:
        rc, out, err = run(hello, "--store", url, "--data-dir", local, "--input", "name=Ann", "--json")
        got = json.loads(out.splitlines()[-1]) if rc == 0 and out.strip() else {}
        check("a run started through serve completes", got.get("output") == "hello Ann", show(rc, out, err))
        # The process log's lines carry the writer's pid: serve's, not the CLI's.
        with open(os.path.join(local, "aosrun.log")) as f:
            started = [l.split() for l in f if " run %s started" % got.get("run_id") in l]
        check("... and serve ran it (its pid wrote the start)", len(started) == 1 and started[0][1] == str(p.pid),
              (p.pid, started))
    rc, out, err = run("runs", "--store", url, "--data-dir", local, "--json")
    check("the served run is in the store", rc == 0 and "hello" in out, show(rc, out, err))


def long_command_keeps_its_lease():
    # `aosrun --batch` runs its runs in its own process, here one through an
    # effect of 7 s, longer than a lease (5 s), while a serve worker polls
    # the store for runs whose lease ran out: the command renews its leases,
    # so the worker never takes the run over and the key is sent once.
    # (approve, resume and a single start go through a Driver, which renews.)
    url = database("aos_cli_long")
    local = os.path.join(TMP, "local-long")
    store = ["--store", url, "--data-dir", local]
    stand = Standin(TMP)
    flow = write("long.aos", 'workflow long() {\n  effect e = http.post("%s/sleep/7000") { key "long-1" }\n'
                 '  output 1 after e\n}\n' % stand.url)
    inputs = write("long.jsonl", "{}\n")
    serve_dir = os.path.join(TMP, "local-long-serve")
    with serving(flow, url, serve_dir):
        rc, out, err = run(flow, "--batch", inputs, *store)
        check("the batch's run goes on past its lease's 5 s and completes",
              rc == 0 and "1 completed" in err, show(rc, out, err))
        sent = stand.stats().get("requests_by_key", {}).get("long-1")
        check("... its effect sent once: no worker took the run over meanwhile", sent == 1, sent)
    stand.stop()
    with open(os.path.join(serve_dir, "aosrun.log")) as f:
        served = [line for line in f if " run " in line]
    check("the serve worker went on with no run (its process log)", not served, served[:3])


def copied():
    # A data directory with a finished run and a waiting one, copied into
    # PostgreSQL: the same runs and records, and the waiting run goes on
    # there; then copied back into a new data directory.
    data = os.path.join(TMP, "copy-src")
    rc, out, err = run(WAITS, "--data-dir", data, "--input-json", '{"xs": [1, 2, 3]}', "--run-id", "c-done")
    rc2, out2, err2 = run("approve", "c-done", "go", "--data-dir", data)
    rc3, out3, err3 = run(WAITS, "--data-dir", data, "--input-json", '{"xs": [1]}', "--run-id", "c-wait")
    check("the source holds a finished run and a waiting one", (rc, rc2, rc3) == (75, 0, 75),
          show(rc3, out3, err3))
    url = database("aos_cli_copy")
    rc, out, err = run("copy", "--from", data, "--to", url, "--json")
    got = json.loads(out.splitlines()[-1]) if rc == 0 and out.strip() else {}
    check("copy into PostgreSQL: every record, verified", rc == 0 and got.get("records", 0) > 10
          and got.get("runs") == 2 and got.get("problems") == 0, show(rc, out, err))
    store = ["--store", url, "--data-dir", os.path.join(TMP, "local-copy")]
    rc, out, err = run("runs", *store)
    check("the copy lists both runs", rc == 0 and "c-done" in out and "c-wait" in out, show(rc, out, err))
    rc, out, err = run("state", "Lead", "a", *store)
    check("the copy holds the records", rc == 0 and '"n":4' in out, show(rc, out, err))
    rc, out, err = run("approve", "c-wait", "go", *store, "--json")
    check("the waiting run goes on in PostgreSQL", rc == 0 and '"completed"' in out, show(rc, out, err))
    rc, out, err = run("copy", "--from", data, "--to", url)
    check("copy into a store that holds records: 64, nothing written", rc == 64 and "empty store" in err,
          show(rc, out, err))
    back = os.path.join(TMP, "copy-back")
    rc, out, err = run("copy", "--from", url, "--to", back)
    check("copy back into a new data directory, verified", rc == 0 and "no problems" in out, show(rc, out, err))
    rc, out, err = run("status", "c-wait", "--data-dir", back, "--json")
    check("the copy back holds what PostgreSQL held: the run completed there",
          rc == 0 and '"completed"' in out, show(rc, out, err))
    rc, out, err = run("copy", "--from", data)
    check("copy without --to: 64", rc == 64, show(rc, out, err))


def refusals():
    rc, out, err = run(WAITS, "--store", "postgresql://aos:hunter2@127.0.0.1:1/none", "--input-json", '{"xs": []}')
    check("a server that does not answer: 74, named without its password",
          rc == 74 and "cannot connect" in err and "aos:***@127.0.0.1:1" in err and "hunter2" not in err,
          show(rc, out, err))
    rc, out, err = run("runs", "--store", "/var/aos")
    check("--store that is not a URL: 64", rc == 64 and "postgresql://" in err, show(rc, out, err))
    cfg = write("aos.yaml", "store: mysql://x\n")
    rc, out, err = run("runs", "--config", cfg)
    check("a config store: that is not a URL: 64, with the file and line",
          rc == 64 and "aos.yaml:1" in err and "store" in err, show(rc, out, err))
    rc, out, err = run("migrate-store")
    check("migrate-store without a store: 64", rc == 64, show(rc, out, err))


waits_and_reads()
killed_and_resumed()
patched_by_two()
served()
long_command_keeps_its_lease()
copied()
refusals()
check.finish(TMP)
