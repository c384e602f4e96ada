#!/usr/bin/env python3
"""aosrun benchmarks W1-W5 (issue 3) and the RocksDB write floor.

W1  one run of 1,000 sequential no-op steps: time per step (default
    durability and --durability strict)
W2  one run fanning out 1,000 independent no-op steps and joining them
W3  1,000 small runs (3 steps each) from one `aosrun FILE --batch` process
W4  a 10,000-step run killed with SIGKILL about half way: time from restart
    to the first newly executed step and to completion; checks that no
    completed step ran twice
W5  approval latency through the CLI: `aosrun approve` until the run has
    completed, in a new process (so across a restart)

A no-op step is `kv.get("noop")`: a recorded step that reads the local store
and touches nothing outside. Every figure is the median of --runs repeats;
peak memory is the largest resident set of the aosrun processes involved.
The RocksDB floor is db_bench (Debian's rocksdb-tools) fillseq with sync on
and off, in the same temporary directory.

With --pg, the runs use the PostgreSQL store instead (docs/cluster.md): a
private PostgreSQL 15 started for the bench (tests/pg/pg_cluster.py), a new
database per run; W1-W3 and W5 apply.

W3serve   W3's runs started through serve's API (bench/api_load.py clients):
          with --pg 1, 2 and 4 serve workers on one database, else one serve
W3workers (with --pg): W3's runs split over 1, 2 and 4 `--batch` processes
at once on one database.

Usage: bench/runtime_bench.py [--aosrun build/aosrun] [--runs 5] [--pg] [W1 W2 ... W3workers]
"""
import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def run(cmd, env=None, check=True):
    """Runs cmd; returns (wall seconds, peak RSS MB, exit code, stdout)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.stdout.close()
    proc.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if check and code not in (0, 75):
        sys.exit("bench: %s exited %d: %s" % (" ".join(cmd), code, err.decode()[-2000:]))
    return wall, usage.ru_maxrss / 1024.0, code, out.decode()


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def sequential(n):
    lines = ["workflow seq() {", '  step s0 = kv.get("noop")']
    for i in range(1, n):
        lines.append('  step s%d = kv.get("noop") after s%d' % (i, i - 1))
    lines.append("  output {last: s%d, n: %d}" % (n - 1, n))
    lines.append("}")
    return "\n".join(lines) + "\n"


def fanout(n):
    lines = ["workflow fan() {"]
    for i in range(n):
        lines.append('  step p%d = kv.get("noop")' % i)
    lines.append("  let all = [%s]" % ", ".join("p%d" % i for i in range(n)))
    lines.append("  output {joined: size(all)}")
    lines.append("}")
    return "\n".join(lines) + "\n"


SMALL = """workflow small(n: int) {
  step a = kv.get("noop")
  step b = kv.get("noop") after a
  step c = kv.get("noop") after b
  output {n: n}
}
"""

APPROVAL = """workflow gate() {
  approval ok { ask "Go?" timeout 48h }
  output {approved: ok.approved}
}
"""


class Bench:
    def __init__(self, aosrun, runs, tmp, pg_server=None):
        self.aosrun = aosrun
        self.runs = runs
        self.tmp = tmp
        self.n = 0
        self.pg_server = pg_server  # a PostgreSQL server's URL: a database per run there

    def data(self):
        """A new store: the options naming it."""
        self.n += 1
        d = os.path.join(self.tmp, "data%d" % self.n)
        shutil.rmtree(d, ignore_errors=True)
        if not self.pg_server:
            return ["--data", d]
        db = "bench%d" % self.n
        subprocess.run(["psql", self.pg_server, "-q", "-c", "CREATE DATABASE %s" % db], check=True)
        return ["--store", self.pg_server.rsplit("/", 1)[0] + "/" + db, "--data", d]

    def start(self, path, *extra):
        return run([self.aosrun, path] + self.data() + list(extra))

    def w1(self):
        f = os.path.join(self.tmp, "w1.aos")
        write(f, sequential(1000))
        one = os.path.join(self.tmp, "w1_one.aos")
        write(one, sequential(1))
        rows = []
        for mode in ("default", "strict"):
            base = statistics.median(self.start(one, "--durability", mode)[0] for _ in range(self.runs))
            samples = [self.start(f, "--durability", mode) for _ in range(self.runs)]
            wall = statistics.median(s[0] for s in samples)
            rss = max(s[1] for s in samples)
            per = (wall - base) / 999 * 1000
            rows.append(("W1 %s" % mode, "%.3f ms/step" % per,
                         "run %.0f ms, process floor %.0f ms" % (wall * 1000, base * 1000), rss,
                         "<= 0.15" if mode == "default" else "<= 0.5"))
        return rows

    def w2(self):
        f = os.path.join(self.tmp, "w2.aos")
        write(f, fanout(1000))
        samples = [self.start(f) for _ in range(self.runs)]
        wall = statistics.median(s[0] for s in samples)
        out = json.loads(samples[0][3])
        assert out == {"joined": 1000}, out
        return [("W2 fan-out 1,000 + join", "%.3f s" % wall, "whole process", max(s[1] for s in samples),
                 "<= 0.1 s")]

    def w3(self):
        f = os.path.join(self.tmp, "w3.aos")
        write(f, SMALL)
        inputs = os.path.join(self.tmp, "w3.jsonl")
        write(inputs, "".join('{"n": %d}\n' % i for i in range(1000)))
        samples = [self.start(f, "--batch", inputs) for _ in range(self.runs)]
        wall = statistics.median(s[0] for s in samples)
        return [("W3 1,000 runs x 3 steps", "%.0f runs/s" % (1000 / wall), "%.3f s in all" % wall,
                 max(s[1] for s in samples), ">= 3,000 runs/s")]

    def w3workers(self):
        """W3 split over 1, 2 and 4 `aosrun --batch` processes at once, one
        store (on PostgreSQL: several workers on one database)."""
        f = os.path.join(self.tmp, "w3.aos")
        write(f, SMALL)
        rows = []
        total = 2000
        for procs in (1, 2, 4):
            walls = []
            for _ in range(self.runs):
                store = self.data()
                parts = []
                for p in range(procs):
                    part = os.path.join(self.tmp, "w3-%d-%d.jsonl" % (procs, p))
                    write(part, "".join('{"n": %d}\n' % i for i in range(p, total, procs)))
                    parts.append(part)
                # Each process its own local directory beside the one store.
                cmds = [[self.aosrun, f] + store[:-1] + [store[-1] + "-p%d" % p] if self.pg_server
                        else [self.aosrun, f] + store for p in range(procs)]
                if not self.pg_server and procs > 1:
                    break  # a data directory has one writer
                t0 = time.perf_counter()
                ps = [subprocess.Popen(cmds[p] + ["--batch", parts[p]], stdout=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE) for p in range(procs)]
                for p in ps:
                    if p.wait() != 0:
                        sys.exit("bench: W3 worker exited %d: %s" % (p.returncode, p.stderr.read()[-500:]))
                walls.append(time.perf_counter() - t0)
            if walls:
                wall = statistics.median(walls)
                rows.append(("W3 %d runs, %d process%s" % (total, procs, "es" if procs > 1 else ""),
                             "%.0f runs/s" % (total / wall), "%.3f s in all" % wall, 0,
                             ">= 2,000 runs/s (4)" if self.pg_server else ""))
        return rows

    def w3serve(self):
        """W3's runs started through the API of 1, 2 and 4 `aosrun serve`
        workers on one store (each answer after its run's end), from 4
        client processes of 8 keep-alive connections each, spread over the
        workers. On RocksDB: one worker (a data directory has one)."""
        f = os.path.join(self.tmp, "w3.aos")
        write(f, SMALL)
        load = os.path.join(ROOT, "bench", "api_load.py")
        rows = []
        total, clients = 2000, 4
        for workers in (1, 2, 4) if self.pg_server else (1,):
            walls = []
            for _ in range(self.runs):
                store = self.data()
                procs, addresses = [], []
                try:
                    for w in range(workers):
                        local = store[-1] + "-w%d" % w
                        os.makedirs(local, exist_ok=True)
                        # --data names each worker's own local directory (with --pg,
                        # beside the one database).
                        cmd = [self.aosrun, "serve", f, *store[:-1], local, "--listen", "127.0.0.1:0"]
                        procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
                        info = os.path.join(local, "serve.json")
                        deadline = time.monotonic() + 20
                        while not os.path.exists(info):
                            if procs[-1].poll() is not None or time.monotonic() > deadline:
                                sys.exit("bench: serve did not start: %s" % procs[-1].stderr.read()[-500:])
                            time.sleep(0.02)
                        time.sleep(0.05)  # the file is written whole, then read
                        with open(info) as i, open(os.path.join(local, "serve.token")) as t:
                            addresses.append("%s=%s" % (json.load(i)["address"], t.read().strip()))
                    share = total // clients
                    t0 = time.perf_counter()
                    cs = [subprocess.Popen([sys.executable, load, "small", str(c * share), str((c + 1) * share), "8",
                                            *(addresses[(c + k) % workers] for k in range(workers))],
                                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                          for c in range(clients)]
                    outs = [c.communicate() for c in cs]
                    wall = time.perf_counter() - t0
                    for c, (out, err) in zip(cs, outs):
                        if c.returncode != 0 or int(out.strip() or 0) != share:
                            sys.exit("bench: W3serve client failed: %s %s" % (out[-200:], err[-500:]))
                    walls.append(wall)
                finally:
                    for p in procs:
                        p.terminate()
                    for p in procs:
                        p.wait(30)
            wall = statistics.median(walls)
            rows.append(("W3 %d runs via API, %d serve%s" % (total, workers, "s" if workers > 1 else ""),
                         "%.0f runs/s" % (total / wall), "%.3f s in all; 4 clients x 8 connections" % wall, 0,
                         ">= 2,000 runs/s (4)" if self.pg_server else ""))
        return rows

    def w4_once(self, f, kill_after):
        # Kill, then look from outside how far the run got; aim for 35-65% of
        # its steps by adjusting the kill time (the run takes ~0.15 s, so a
        # fixed delay lands anywhere).
        for _ in range(30):
            data = self.data()
            proc = subprocess.Popen([self.aosrun, f, *data, "--run-id", "w4"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(kill_after)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            _, _, _, out = run([self.aosrun, "runs", "--json", *data], check=False)
            events = json.loads(out.splitlines()[0])["events"] if out.strip() else 0
            if events < 3500:
                kill_after *= 1.15
            elif events > 6500:
                kill_after *= 0.85
            else:
                break
        t0 = time.time()
        # Starting with the same --run-id continues the run (or starts it, if
        # the kill came before anything was written).
        wall, rss, code, _ = run([self.aosrun, f, "--run-id", "w4", *data])
        if code != 0:
            sys.exit("bench: W4 resume exited %d" % code)
        _, _, _, log = run([self.aosrun, "log", "w4", *data, "--json"])
        events = [json.loads(line) for line in log.splitlines()]
        done = {}
        first_new = None
        resumed = False
        for e in events:
            if e["type"] == "RunResumed":
                resumed = True
            if e["type"] == "StepCompleted":
                done[e["step"]] = done.get(e["step"], 0) + 1
                if resumed and first_new is None:
                    first_new = e["at"]
        twice = [k for k, v in done.items() if v > 1]
        if twice:
            sys.exit("bench: W4 steps completed twice: %s" % twice[:5])
        before = sum(1 for e in events[: next(i for i, e in enumerate(events) if e["type"] == "RunResumed")]
                     if e["type"] == "StepCompleted") if resumed else 0
        first = parse_time(first_new) - t0 if first_new else float("nan")
        return first, wall, rss, before

    def w4(self):
        f = os.path.join(self.tmp, "w4.aos")
        write(f, sequential(10000))
        # An uncrashed run tells when step 5,000 completes, from its log's
        # timestamps; the crashed runs are killed then.
        data = self.data()
        t_spawn = time.time()
        total = run([self.aosrun, f, *data, "--run-id", "w4"])[0]
        _, _, _, log = run([self.aosrun, "log", "w4", *data, "--json"])
        at = [json.loads(l)["at"] for l in log.splitlines() if '"step":"s4999"' in l][0]
        kill_after = parse_time(at) - t_spawn
        samples = [self.w4_once(f, kill_after) for _ in range(self.runs)]
        first = statistics.median(s[0] for s in samples)
        first_min = min(s[0] for s in samples)
        wall = statistics.median(s[1] for s in samples)
        killed_at = statistics.median(s[3] for s in samples)
        return [("W4 restart -> first new step", "%.1f ms" % (first * 1000),
                 "min %.1f ms; killed after ~%d of 10,000 steps; no step ran twice" % (first_min * 1000, killed_at),
                 max(s[2] for s in samples), "<= 20 ms (issue 10)"),
                ("W4 restart -> completion", "%.3f s" % wall, "uncrashed run %.3f s" % total,
                 max(s[2] for s in samples), "<= 1 s")]

    def w5(self):
        f = os.path.join(self.tmp, "w5.aos")
        write(f, APPROVAL)
        samples = []
        for _ in range(self.runs):
            data = self.data()
            _, _, code, _ = run([self.aosrun, f, *data, "--run-id", "w5"])
            assert code == 75, code
            wall, rss, code, out = run([self.aosrun, "approve", "w5", "ok", *data])
            assert code == 0 and json.loads(out) == {"approved": True}, (code, out)
            samples.append((wall, rss))
        return [("W5 approve -> completed (CLI)", "%.1f ms" % (statistics.median(s[0] for s in samples) * 1000),
                 "min %.1f ms; a new process: open, replay, decide, finish" % (min(s[0] for s in samples) * 1000),
                 max(s[1] for s in samples), "<= 30 ms")]

    def floor(self):
        db_bench = shutil.which("db_bench") or shutil.which("rocksdb_db_bench")
        if not db_bench:
            return [("RocksDB floor", "n/a", "db_bench not installed (rocksdb-tools)", 0, "")]
        rows = []
        for sync in (1, 0):
            db = os.path.join(self.tmp, "dbbench%d" % sync)
            shutil.rmtree(db, ignore_errors=True)
            num = 2000 if sync else 100000
            _, _, _, out = run([db_bench, "--benchmarks=fillseq", "--num=%d" % num, "--sync=%d" % sync,
                                "--db=" + db, "--value_size=200", "--threads=1"])
            m = re.search(r"fillseq\s*:\s*([\d.]+) micros/op", out)
            rows.append(("RocksDB fillseq sync=%d" % sync, "%s us/write" % (m.group(1) if m else "?"),
                         "db_bench, 200-byte values", 0, ""))
        return rows


def wal_bytes(data):
    try:
        return sum(os.path.getsize(os.path.join(data, n)) for n in os.listdir(data) if n.endswith(".log"))
    except OSError:
        return 0


def parse_time(text):
    # RFC 3339 with up to nanoseconds, UTC "Z".
    m = re.match(r"(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)(?:\.(\d+))?Z", text)
    import calendar
    secs = calendar.timegm(tuple(int(m.group(i)) for i in range(1, 7)) + (0, 0, 0))
    frac = float("0." + m.group(7)) if m.group(7) else 0.0
    return secs + frac


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--aosrun", default=os.path.join(ROOT, "build", "aosrun"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--pg", action="store_true", help="on a private PostgreSQL server instead of RocksDB")
    ap.add_argument("which", nargs="*", default=None)
    args = ap.parse_args()
    if not args.which:
        args.which = ["W1", "W2", "W3", "W5"] if args.pg else ["W1", "W2", "W3", "W4", "W5", "floor"]
    tmp = tempfile.mkdtemp(prefix="aos-bench-", dir=os.environ.get("AOS_BENCH_DIR"))
    pg_state = os.path.join(tmp, "pg.json")
    cluster = os.path.join(ROOT, "tests", "pg", "pg_cluster.py")
    try:
        server = None
        if args.pg:
            server = subprocess.run([sys.executable, cluster, "start", pg_state], check=True,
                                    capture_output=True, text=True).stdout.strip()
        b = Bench(os.path.abspath(args.aosrun), args.runs, tmp, server)
        print("%-34s %-16s %-8s %-10s %s" % ("benchmark", "figure", "peak MB", "target", "notes"))
        for w in args.which:
            for name, fig, notes, rss, target in getattr(b, w.lower())():
                print("%-34s %-16s %-8s %-10s %s" % (name, fig, "%.1f" % rss if rss else "", target, notes),
                      flush=True)
    finally:
        if args.pg:
            subprocess.run([sys.executable, cluster, "stop", pg_state])
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
