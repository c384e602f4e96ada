#!/usr/bin/python3
"""Cron arithmetic against a reference: `aoscheck cron` over many expressions,
time zones and start times around DST transitions, compared with the fire
times of python3-croniter (Debian's; it loads under /usr/bin/python3).

croniter does the calendar arithmetic on naive local times (its own time
zone handling is wrong around DST changes in 1.3.5); Python's zoneinfo
turns each local time into an instant, with the rules lang/cron.h states:
a local time that does not exist is skipped, one that happens twice fires
at its first occurrence.

Usage: /usr/bin/python3 cron_test.py PATH/TO/aoscheck
"""
import itertools
import subprocess
import sys
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from croniter import croniter

AOSCHECK = sys.argv[1]
COUNT = 12
EXPRS = ["0 9 * * MON", "30 2 * * *", "*/15 * * * *", "0 0 1 * *", "15 1 * * SUN", "0 2 * * *", "0 3 * * *",
         "45 1 * * *", "0 */6 * * *", "5 4 * * 1-5", "0 0 29 2 *", "0 12 13 * FRI", "*/7 2-3 * * *",
         "0 9-17/2 * JAN,JUL *", "59 23 31 12 *", "0 0 * * 7", "10,20,30 1 25-31 3,10 *", "0 1 1-7 * MON"]
TZS = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "America/Santiago",
       "Pacific/Chatham"]
STARTS = ["2026-03-07T00:00:00Z", "2026-03-28T12:00:00Z", "2026-10-24T12:00:00Z", "2026-10-31T12:00:00Z",
          "2026-04-04T06:00:00Z", "2026-09-26T06:00:00Z", "2027-01-01T00:00:00Z"]


def utc(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def reference(expr, tz, start):
    z = ZoneInfo(tz)
    local = start.astimezone(z).replace(tzinfo=None)
    it = croniter(expr, local)
    out = []
    for _ in range(COUNT * 20):
        if len(out) == COUNT:
            break
        naive = it.get_next(datetime)
        first = naive.replace(tzinfo=z, fold=0)
        instant = first.astimezone(timezone.utc)
        if instant.astimezone(z).replace(tzinfo=None) != naive:
            continue  # skipped by the clock change: it does not exist
        if instant <= start:
            continue
        out.append(instant.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return out


bad = total = 0
for expr, tz, st in itertools.product(EXPRS, TZS, STARTS):
    p = subprocess.run([AOSCHECK, "cron", expr, "--timezone", tz, "--after", st, "--count", str(COUNT)],
                       capture_output=True, text=True, timeout=60)
    ours = p.stdout.split() if p.returncode == 0 else ["exit %d: %s" % (p.returncode, p.stderr.strip())]
    ref = reference(expr, tz, utc(st))
    total += 1
    if ours != ref:
        bad += 1
        if bad <= 10:
            print("FAIL: %r in %s after %s\n  ours %s\n  want %s" % (expr, tz, st, ours[:6], ref[:6]))
# What it refuses: not a cron expression, not a time zone, no fire time.
refused = 0
for args in (["0 0 L * *"], ["61 * * * *"], ["* * * *"], ["0 9 * * MON", "--timezone", "Mars/Base"]):
    p = subprocess.run([AOSCHECK, "cron", *args], capture_output=True, text=True, timeout=60)
    total += 1
    if p.returncode != 65 or not p.stderr.strip():
        bad += 1
        print("FAIL: %s should be refused (65): %d %s" % (args, p.returncode, p.stderr.strip()))
p = subprocess.run([AOSCHECK, "cron", "0 0 30 2 *"], capture_output=True, text=True, timeout=60)
total += 1
if p.returncode != 0 or p.stdout.strip():
    bad += 1
    print("FAIL: February 30th never fires: %d %r" % (p.returncode, p.stdout))
print("%d passed, %d failed" % (total - bad, bad))
sys.exit(1 if bad else 0)
