#!/usr/bin/env python3
"""Self-test of standin.py: starts it on a free port and checks the behaviour
the runtime's tests lean on (idempotent posts, counted keys, model output
that parses, the failure triggers, clean shutdown). Exits non-zero on failure.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
# Straight to 127.0.0.1 even when the environment names an HTTP proxy.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def start(tmp, *extra):
    port_file = os.path.join(tmp, "port")
    proc = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "standin.py"), "--port", "0",
         "--port-file", port_file, *extra])
    deadline = time.monotonic() + 10
    while not os.path.exists(port_file):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise SystemExit("standin did not start")
        time.sleep(0.02)
    with open(port_file) as f:
        return proc, int(f.read())


def call(base, method, path, body=None, key=None):
    """Returns (status, headers, parsed JSON or text)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if key:
        req.add_header("Idempotency-Key", key)
    try:
        with OPENER.open(req, timeout=10) as resp:
            status, headers, raw = resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        status, headers, raw = e.code, e.headers, e.read()
    try:
        return status, headers, json.loads(raw)
    except ValueError:
        return status, headers, raw.decode()


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def chat(base, text):
    return call(base, "POST", "/v1/chat/completions", {
        "model": "gpt-test",
        "messages": [{"role": "system", "content": "You write outlines."},
                     {"role": "user", "content": text}],
    })


def check(base):
    status, _, body = call(base, "GET", "/health")
    expect(status == 200 and body == "ok", "health: %r %r" % (status, body))

    # Idempotency: the second POST with the key replays the first.
    s1, _, p1 = call(base, "POST", "/posts", {"title": "Hello"}, key="k-1")
    s2, _, p2 = call(base, "POST", "/posts", {"title": "Hello"}, key="k-1")
    expect(s1 == 201 and s2 == 201, "post status %r %r" % (s1, s2))
    expect(p1["id"] == p2["id"], "same key, same post: %r %r" % (p1, p2))
    expect(p1["title"] == "Hello", "title echoed: %r" % p1)
    expect(p1["url"] == base + "/posts/" + p1["id"], "post url: %r" % p1)
    _, _, stats = call(base, "GET", "/stats")
    expect(stats["requests_by_key"] == {"k-1": 2}, "key counted twice: %r" % stats)
    expect(stats["posts"] == 1, "one post: %r" % stats)

    _, _, p3 = call(base, "POST", "/posts", {"title": "Other"}, key="k-2")
    expect(p3["id"] != p1["id"], "new key, new post")
    _, _, listing = call(base, "GET", "/posts")
    expect([p["id"] for p in listing["posts"]] == [p1["id"], p3["id"]], "list: %r" % listing)

    s, _, d1 = call(base, "DELETE", "/posts/" + p1["id"], key="d-1")
    s_again, _, d2 = call(base, "DELETE", "/posts/" + p1["id"], key="d-1")
    expect(s == 200 and s_again == 200 and d1 == d2 == {"deleted": True, "id": p1["id"]},
           "idempotent delete: %r %r" % (d1, d2))

    _, _, e1 = call(base, "PUT", "/effects/mail/send", {"to": "a"}, key="e-1")
    _, _, e2 = call(base, "PUT", "/effects/mail/send", {"to": "a"}, key="e-1")
    expect(e1 == {"ok": True, "n": 1} and e2 == {"ok": True, "n": 2}, "effects %r %r" % (e1, e2))

    _, _, sig = call(base, "GET", "/signals?week=2024-W07")
    expect(sig["week"] == "2024-W07" and [i["score"] for i in sig["items"]] == [0.9, 0.3, 0.7],
           "signals: %r" % sig)
    expect(call(base, "GET", "/signals?week=2024-W07")[2] == sig, "signals deterministic")

    status, _, c = chat(base, "Write about durable workflows")
    expect(status == 200 and c["object"] == "chat.completion", "chat: %r" % c)
    expect(c["model"] == "gpt-test", "model echoed")
    choice = c["choices"][0]
    expect(choice["finish_reason"] == "stop" and choice["message"]["role"] == "assistant",
           "choice: %r" % choice)
    draft = json.loads(choice["message"]["content"])
    expect(set(draft) == {"title", "sections", "summary", "score", "reply"}, "draft fields: %r" % draft)
    expect(isinstance(draft["sections"], list) and draft["sections"], "sections: %r" % draft)
    u = c["usage"]
    expect(u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"] > 0, "usage %r" % u)
    expect(chat(base, "Write about durable workflows")[2] == c, "chat deterministic")

    status, _, _ = chat(base, "please FAIL_500")
    expect(status == 500, "FAIL_500 -> %r" % status)
    status, headers, _ = chat(base, "please FAIL_429")
    expect(status == 429 and headers["Retry-After"] == "1", "FAIL_429 -> %r" % status)
    status, _, c = chat(base, "please BAD_JSON")
    expect(status == 200, "BAD_JSON status")
    try:
        json.loads(c["choices"][0]["message"]["content"])
        expect(False, "BAD_JSON content parsed as JSON")
    except ValueError:
        pass

    _, _, emb = call(base, "POST", "/v1/embeddings", {"model": "e", "input": ["a", "b"]})
    vectors = [d["embedding"] for d in emb["data"]]
    expect(len(vectors) == 2 and all(len(v) == 8 for v in vectors), "embeddings: %r" % emb)
    expect(vectors[0] != vectors[1], "different inputs, different vectors")

    call(base, "POST", "/reset", {})
    _, _, stats = call(base, "GET", "/stats")
    expect(stats == {"requests_by_key": {}, "auth_sha256_by_key": {}, "posts": 0, "requests": 1},
           "reset: %r" % stats)


def check_delay(tmp):
    proc, port = start(tmp, "--delay-ms", "200")
    try:
        t0 = time.monotonic()
        call("http://127.0.0.1:%d" % port, "GET", "/health")
        expect(time.monotonic() - t0 >= 0.2, "--delay-ms delays responses")
    finally:
        proc.send_signal(signal.SIGTERM)
        expect(proc.wait(timeout=5) == 0, "clean exit on SIGTERM")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        proc, port = start(tmp)
        try:
            check("http://127.0.0.1:%d" % port)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                raise SystemExit("standin ignored SIGTERM")
        expect(code == 0, "clean exit on SIGTERM, got %r" % code)
        os.remove(os.path.join(tmp, "port"))
        check_delay(tmp)
    print("standin_test: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
