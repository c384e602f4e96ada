#!/usr/bin/env python3
"""Canonical state: entity writes, E.find and E.list(where:) at 100,000 records.

  S1  100,000 Subscriber upserts in one run (a for over the input, max 64),
      each record made from its input row by a versioned transform and
      found by its identity (email): records per second with the default
      durability.
  S2  E.find on an indexed field (two records per value): 2,000 finds in one
      run, each step's cost
      over the same run of 2,000 kv.get steps (both are inline steps with the
      same event-log writes, so the difference is the lookup).
  S3  E.list(where:) over the 100,000 records: one step, the run's wall time
      less that of a run whose one step is a kv.get.
  S4  E.summary on a record with 1,000 changes, then again after one more
      change: the tokens the second model call is sent (from the run's
      recorded usage, as the OpenAI-compatible stand-in counts them), against
      the first call's; and a third call with nothing new (0 tokens).
  S5  kb.search, exact, over 100,000 entries of 768 dimensions (added by
      kb.add through the OpenAI-compatible stand-in, not timed): a search
      once the collection is in memory (runs of 11 searches less runs of 1,
      each less the same runs over an empty collection, so the embedding
      calls and the process start cancel), and a process's first search,
      which loads the collection from the data directory.

Usage: bench/state_bench.py [--aosrun build/aosrun] [--records 100000] [--runs 3]
                            [--kb-entries 100000]
Prints one table; the issue's targets are in the last column.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "standin"))
from harness import Standin  # noqa: E402

ENTITY = ("type Row { email: string  company: string  score: double }\n"
          "entity Subscriber {\n  key id: string\n  identity email: string\n  company: string\n"
          "  score: double = 0.0\n  index company\n}\n"
          "transform row_subscriber v1 (r: Row) -> Subscriber {\n"
          "  id: \"sub-${r.email}\"\n  email: lower(r.email)\n  company: r.company\n  score: r.score\n}\n")


def timed(cmd):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit("bench: %s exited %d: %s" % (" ".join(cmd[:2]), p.returncode, p.stderr[-500:]))
    return wall


def summary_tokens(aosrun, tmp, write):
    """S4: tokens_in of E.summary over 1,000 changes, after one more, and with none."""
    stand = Standin(tmp)
    try:
        cfg = write("aos.yaml", "models:\n  small:\n    base_url: %s/v1\n    model: m\n"
                                "    price: {input_per_mtok: 0.15, output_per_mtok: 0.60}\n" % stand.url)
        ent = "entity Account { key id: string  visits: int = 0  plan: string = \"free\" }\n"
        changes = write("changes.aos", ent + "workflow c(xs: list<int>) {\n  for x in xs max 1 {\n"
                        "    step p = Account.patch(\"acme\", {visits: it.visits + 1})\n  }\n  output size(p)\n}\n")
        one = write("one_more.aos", ent + "workflow m() {\n"
                    "  step p = Account.patch(\"acme\", {plan: \"pro\"})\n  output p.plan\n}\n")
        summ = write("summary.aos", ent + "workflow s() {\n"
                     "  step s = Account.summary(\"acme\", model: \"small\", max_tokens: 100)\n  output s.tokens_in\n}\n")
        data = os.path.join(tmp, "summary-data")
        base = [aosrun, "--data", data, "--config", cfg, "--json"]

        def run(f, *extra):
            p = subprocess.run([aosrun, f] + base[1:] + list(extra), capture_output=True, text=True)
            if p.returncode != 0:
                sys.exit("bench: %s exited %d: %s" % (f, p.returncode, p.stderr[-500:]))
            return json.loads(p.stdout.splitlines()[-1])["output"]

        run(changes, "--input-json", json.dumps({"xs": list(range(1000))}))
        first = run(summ)
        run(one)
        second = run(summ)
        third = run(summ)
        return first, second, third
    finally:
        stand.stop()


def kb_search(aosrun, tmp, write, entries, runs):
    """S5: ms per warm kb.search over `entries` x 768, and the first search's ms."""
    stand = Standin(tmp, "--embedding-dims", "768")
    try:
        cfg = write("kb.yaml", "models:\n  embed:\n    base_url: %s/v1\n    model: e\n"
                               "kb: {model: embed}\n" % stand.url)
        fill = write("fill.aos", "workflow fill(ids: list<int>) {\n  for i in ids max 64 {\n"
                     "    step a = kb.add(\"docs\", \"d${i}\", \"entry ${i} of the knowledge base\")\n"
                     "  }\n  output size(a)\n}\n")
        search = write("search.aos", "workflow search(c: string, qs: list<int>) {\n  for q in qs max 1 {\n"
                       "    step s = kb.search(c, \"question ${q}\", k: 5)\n  }\n  output size(s)\n}\n")
        data = os.path.join(tmp, "kb-data")
        ids = write("ids.json", json.dumps({"ids": list(range(entries))}))
        timed([aosrun, fill, "--data", data, "--config", cfg, "--input-json", "@" + ids, "--json"])

        def t(c, n):
            return timed([aosrun, search, "--data", data, "--config", cfg, "--json",
                          "--input-json", json.dumps({"c": c, "qs": list(range(n))})])

        warm, first = [], []
        for _ in range(runs):
            one, eleven = t("docs", 1), t("docs", 11)
            one0, eleven0 = t("none", 1), t("none", 11)
            warm.append(((eleven - one) - (eleven0 - one0)) / 10 * 1000)
            first.append((one - one0) * 1000)
        return statistics.median(warm), statistics.median(first)
    finally:
        stand.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--aosrun", default=os.path.join(ROOT, "build", "aosrun"))
    ap.add_argument("--records", type=int, default=100000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--kb-entries", type=int, default=100000)
    o = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="aos-state-bench-")
    try:
        def write(name, text):
            path = os.path.join(tmp, name)
            with open(path, "w") as f:
                f.write(text)
            return path

        n = o.records
        # Two subscribers per company: a find is a lookup with two matches.
        rows = [{"email": "s%d@example.com" % i, "company": "c%d" % (i // 2), "score": i % 100 / 100.0}
                for i in range(n)]
        inputs = write("rows.json", json.dumps({"rows": rows}))
        ingest = write("ingest.aos", ENTITY +
                       "workflow ingest(rows: list<any>) {\n"
                       "  for r in rows max 64 {\n"
                       "    step u = Subscriber.upsert(row_subscriber(r))\n"
                       "  }\n  output size(u)\n}\n")
        companies = write("companies.json", json.dumps({"cs": ["c%d" % (i * 7919 % (n // 2)) for i in range(2000)]}))
        finds = write("finds.aos", ENTITY +
                      "workflow finds(cs: list<string>) {\n"
                      "  for c in cs max 1 {\n    step f = Subscriber.find(company: c)\n  }\n"
                      "  output size(f)\n}\n")
        gets = write("gets.aos", ENTITY +
                     "workflow gets(cs: list<string>) {\n"
                     "  for c in cs max 1 {\n    step f = kv.get(c)\n  }\n"
                     "  output size(f)\n}\n")
        lister = write("list.aos", ENTITY +
                       "workflow lister() {\n"
                       "  step l = Subscriber.list(where: it.score >= 0.99 && it.company == \"c99\")\n"
                       "  output size(l)\n}\n")
        one = write("one.aos", ENTITY + "workflow one() {\n  step g = kv.get(\"x\")\n  output g\n}\n")

        ingest_rates, find_us, list_ms = [], [], []
        for r in range(o.runs):
            data = os.path.join(tmp, "data%d" % r)
            wall = timed([o.aosrun, ingest, "--data", data, "--input-json", "@" + inputs, "--json"])
            ingest_rates.append(n / wall)
            # The first find builds the index from every record: once.
            timed([o.aosrun, finds, "--data", data, "--input-json", '{"cs": ["c0"]}', "--json"])
            f = timed([o.aosrun, finds, "--data", data, "--input-json", "@" + companies, "--json"])
            g = timed([o.aosrun, gets, "--data", data, "--input-json", "@" + companies, "--json"])
            find_us.append((f - g) / 2000 * 1e6)
            l_ = timed([o.aosrun, lister, "--data", data, "--json"])
            b = timed([o.aosrun, one, "--data", data, "--json"])
            list_ms.append((l_ - b) * 1000)
            shutil.rmtree(data, ignore_errors=True)
        print("%-44s %-14s %s" % ("benchmark", "figure", "target"))
        print("%-44s %-14s %s" % ("S1 %d upserts in one run" % n,
                                  "%.0f rec/s" % statistics.median(ingest_rates), ">= 20,000 rec/s (through a transform)"))
        print("%-44s %-14s %s" % ("S2 E.find, 2 matches (over a kv.get step)",
                                  "%.1f us" % statistics.median(find_us), "<= 50 us"))
        print("%-44s %-14s %s" % ("S3 E.list(where:) over %d records" % n,
                                  "%.1f ms" % statistics.median(list_ms), "<= 100 ms"))
        first, second, third = summary_tokens(o.aosrun, tmp, write)
        print("%-44s %-14s %s" % ("S4 E.summary after 1 new change (of 1,000)",
                                  "%d tokens in" % second, "one call over the new change only"))
        print("%-44s %-14s %s" % ("   (the first summary, over 1,000 changes)", "%d tokens in" % first, ""))
        print("%-44s %-14s %s" % ("   (again with nothing new)", "%d tokens in" % third, "0, no call"))
        warm, first = kb_search(o.aosrun, tmp, write, o.kb_entries, o.runs)
        print("%-44s %-14s %s" % ("S5 kb.search over %d x 768, exact" % o.kb_entries, "%.1f ms" % warm, "<= 50 ms"))
        print("%-44s %-14s %s" % ("   (a process's first search, loading them)", "%.0f ms" % first, ""))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
