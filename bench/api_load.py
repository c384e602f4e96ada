#!/usr/bin/env python3
"""Starts runs through serve's API as fast as it answers: a load client for
bench/runtime_bench.py (W3serve). Each thread keeps one HTTP/1.1 connection
to one worker (threads spread over the workers given) and POSTs
/api/runs for its share of run numbers FROM..TO-1; each answer comes when
its run has ended. Prints the number of runs that completed; exits 1 on any
other answer.

Usage: api_load.py WORKFLOW FROM TO THREADS ADDRESS=TOKEN [ADDRESS=TOKEN ...]
"""
import http.client
import json
import sys
import threading
import urllib.parse


def main():
    workflow, first, last, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    workers = [w.split("=", 1) for w in sys.argv[5:]]
    done = [0] * threads
    bad = []

    def drive(t):
        address, token = workers[t % len(workers)]
        u = urllib.parse.urlsplit(address)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
        for n in range(first + t, last, threads):
            body = json.dumps({"workflow": workflow, "input": {"n": n}, "run_id": "%s-%d" % (workflow, n)})
            conn.request("POST", "/api/runs", body, headers)
            r = conn.getresponse()
            answer = r.read()
            if r.status in (200, 201) and json.loads(answer).get("status") == "completed":
                done[t] += 1
            else:
                bad.append((n, r.status, answer[:200]))
        conn.close()

    ts = [threading.Thread(target=drive, args=(t,)) for t in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(sum(done))
    if bad:
        print("not completed: %s" % bad[:3], file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
