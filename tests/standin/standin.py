#!/usr/bin/env python3
"""A stand-in for the outside world in tests and the demo.

One HTTP server on 127.0.0.1 speaking the real protocols AOS talks to:

  CMS-like REST API      POST /posts, GET /posts, DELETE /posts/<id>
  CRM-like contacts      POST /contacts, DELETE /contacts/<id>
  generic effects        any method on /effects/<anything>
  analytics              GET /signals?week=W
  OpenAI-compatible API  POST /v1/chat/completions, POST /v1/embeddings
  bookkeeping            GET /stats, POST /reset, GET /health

Requests carrying an Idempotency-Key are counted per key; a repeated key on
POST /posts or DELETE /posts/<id> replays the first response and changes
nothing, as a real payment or CMS API does. Every answer is deterministic
from the request, so tests can assert on it.

Chat messages containing FAIL_500, FAIL_429, BAD_JSON or NULL_CONTENT make
the model endpoint fail with a 500, fail with a 429 and Retry-After: 1,
answer with content that is not JSON, or answer with "content": null (as a
refusal or a tool call does).

Embeddings have 8 dimensions, or the request's "dimensions" (as OpenAI's
text-embedding-3 models take it), or --embedding-dims N: deterministic
numbers in [-1, 1] from the text's SHAKE-256 digest.

Usage: standin.py --port 0 --port-file F [--delay-ms N] [--embedding-dims N]
The bound port is written to F (atomically) once the server accepts
connections. SIGTERM and SIGINT stop it cleanly. Standard library only.
"""

import argparse
import hashlib
import json
import os
import signal
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class State:
    """Everything the server remembers; one lock guards all of it."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.requests = 0
        self.requests_by_key = {}
        self.posts = {}  # id -> post, in creation order
        self.next_id = 1
        # (method, path, key) -> (status, body) of the first answer
        self.replies = {}
        self.flaky = {}  # /flaky/NAME -> requests seen
        self.auth_by_key = {}  # Idempotency-Key -> sha256 of its Authorization header


def _digest(text):
    return hashlib.sha256(text.encode("utf-8")).digest()


def _tokens(text):
    return max(1, len(text) // 4)


def _draft(prompt):
    """The model's answer: a deterministic article outline for `prompt`."""
    # The first line is the request; what follows is context for it.
    first = prompt.strip().splitlines()[0] if prompt.strip() else ""
    words = [w.strip(".,:;!?\"'") for w in first.split()]
    words = [w for w in words if w]
    topic = " ".join(words[-4:]) if words else "nothing"
    h = _digest(prompt).hex()[:8]
    return {
        "title": "On %s" % topic,
        "sections": [
            "Why %s matters" % topic,
            "What changed (%s)" % h,
            "What to do next",
        ],
        "summary": "A short piece on %s, drafted from %d words of prompt."
        % (topic, len(words)),
        # For answers typed as an assessment (the lead intake's); other
        # types drop the fields they do not declare.
        "score": 0.8,
        "reply": "Thank you for getting in touch about %s." % topic,
    }


class Handler(BaseHTTPRequestHandler):
    server_version = "AosStandin/1.0"
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle's algorithm the body
    # of a large answer waits for the client's delayed ACK (40 ms).
    disable_nagle_algorithm = True

    # Set on the class by main().
    state = None
    delay_ms = 0
    embedding_dims = 8

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass

    # -- plumbing ---------------------------------------------------------

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, status, payload, content_type="application/json", headers=()):
        if isinstance(payload, (dict, list)):
            data = json.dumps(payload).encode("utf-8")
        elif isinstance(payload, str):
            data = payload.encode("utf-8")
        else:
            data = payload
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _json_body(self, raw):
        if not raw:
            return {}
        try:
            return json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return None

    def _port(self):
        return self.server.server_address[1]

    def _handle(self):
        if self.delay_ms:
            time.sleep(self.delay_ms / 1000.0)
        raw = self._body()
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        query = urllib.parse.parse_qs(url.query)
        key = self.headers.get("Idempotency-Key")
        state = self.state
        auth = self.headers.get("Authorization")
        with state.lock:
            state.requests += 1
            if key:
                state.requests_by_key[key] = state.requests_by_key.get(key, 0) + 1
                if auth is not None:
                    # A digest, never the credential: tests compare it with
                    # the digest of what they expect to have been sent.
                    state.auth_by_key[key] = hashlib.sha256(auth.encode("utf-8")).hexdigest()
            key_count = state.requests_by_key.get(key, 0) if key else 0

        method = self.command
        if path == "/health" and method in ("GET", "HEAD"):
            return self._send(200, "ok", "text/plain")
        if path == "/stats" and method == "GET":
            with state.lock:
                return self._send(200, {
                    "requests_by_key": dict(state.requests_by_key),
                    "auth_sha256_by_key": dict(state.auth_by_key),
                    "posts": len(state.posts),
                    "requests": state.requests,
                })
        if path == "/reset" and method == "POST":
            with state.lock:
                state.reset()
            return self._send(200, {"ok": True})
        if path.startswith("/effects/"):
            return self._send(200, {"ok": True, "n": key_count})
        # -- error kinds, for retry tests ------------------------------------
        # /flaky/NAME?times=N&status=S[&retry_after=SECS]: the first N
        # requests for NAME answer status S (with Retry-After when given),
        # then 200 {"ok": true, "attempt": k}.
        if path.startswith("/flaky/"):
            name = path[len("/flaky/"):]
            times = int(query.get("times", ["1"])[0])
            status = int(query.get("status", ["500"])[0])
            with state.lock:
                n = state.flaky.get(name, 0) + 1
                state.flaky[name] = n
            if n <= times:
                headers = []
                if "retry_after" in query:
                    headers.append(("Retry-After", query["retry_after"][0]))
                return self._send(status, {"error": "flaky", "attempt": n}, headers=headers)
            return self._send(200, {"ok": True, "attempt": n})
        # /sleep/MS: answers after MS milliseconds (a client deadline test).
        if path.startswith("/sleep/"):
            time.sleep(int(path[len("/sleep/"):]) / 1000.0)
            return self._send(200, {"slept": True})
        # /big/BYTES: a body of BYTES bytes (a response size limit test).
        if path.startswith("/big/"):
            return self._send(200, "x" * int(path[len("/big/"):]), "text/plain")
        # /deep/N: a JSON body of N nested arrays around 1 (a depth limit test).
        if path.startswith("/deep/"):
            n = int(path[len("/deep/"):])
            return self._send(200, "[" * n + "1" + "]" * n, "application/json")
        # /badjson: a 200 whose body claims to be JSON and is not.
        if path == "/badjson":
            return self._send(200, "{not json", "application/json")
        if path == "/posts" and method == "GET":
            with state.lock:
                return self._send(200, {"posts": list(state.posts.values())})
        if path == "/posts" and method == "POST":
            return self._create_post(raw, key)
        if path.startswith("/posts/") and method == "DELETE":
            return self._delete_post(path[len("/posts/"):], key)
        if path.startswith("/posts/") and method == "GET":
            with state.lock:
                post = state.posts.get(path[len("/posts/"):])
            if post is None:
                return self._send(404, {"error": "no such post"})
            return self._send(200, post)
        # A CRM-like contacts API (the lead intake's connector), with the
        # same Idempotency-Key replay as the CMS.
        if path == "/contacts" and method == "POST":
            def compute():
                cid = "c-%d" % state.next_id
                state.next_id += 1
                return 201, {"id": cid}
            status, body = self._idempotent("/contacts", key, compute)
            return self._send(status, body)
        if path.startswith("/contacts/") and method == "DELETE":
            return self._send(200, {"deleted": True})
        if path == "/signals" and method == "GET":
            return self._signals(query.get("week", [""])[0])
        if path == "/v1/chat/completions" and method == "POST":
            return self._chat(raw)
        if path == "/v1/embeddings" and method == "POST":
            return self._embeddings(raw)
        return self._send(404, {"error": "no route for %s %s" % (method, path)})

    # Replays the first answer for (method, path, key) or computes and keeps it.
    def _idempotent(self, path, key, compute):
        state = self.state
        with state.lock:
            if key:
                first = state.replies.get((self.command, path, key))
                if first is not None:
                    return first
            reply = compute()
            if key:
                state.replies[(self.command, path, key)] = reply
            return reply

    # -- CMS --------------------------------------------------------------

    def _create_post(self, raw, key):
        doc = self._json_body(raw)
        if not isinstance(doc, dict):
            return self._send(400, {"error": "body must be a JSON object"})

        def compute():  # runs under the state lock
            state = self.state
            pid = str(state.next_id)
            state.next_id += 1
            post = {
                "id": pid,
                "url": "http://127.0.0.1:%d/posts/%s" % (self._port(), pid),
                "title": doc.get("title", ""),
            }
            state.posts[pid] = dict(post, body=doc)
            return 201, post

        status, body = self._idempotent("/posts", key, compute)
        return self._send(status, body)

    def _delete_post(self, pid, key):
        def compute():  # runs under the state lock
            if self.state.posts.pop(pid, None) is None:
                return 404, {"error": "no such post", "id": pid}
            return 200, {"deleted": True, "id": pid}

        status, body = self._idempotent("/posts/" + pid, key, compute)
        return self._send(status, body)

    # -- analytics --------------------------------------------------------

    def _signals(self, week):
        topics = ["durable workflows", "agent reliability", "cost control"]
        scores = [0.9, 0.3, 0.7]
        return self._send(200, {
            "week": week,
            "items": [{"topic": t, "score": s} for t, s in zip(topics, scores)],
        })

    # -- OpenAI-compatible model ------------------------------------------

    def _chat(self, raw):
        req = self._json_body(raw)
        if not isinstance(req, dict) or not isinstance(req.get("messages"), list):
            return self._send(400, {"error": {"message": "messages is required",
                                              "type": "invalid_request_error"}})
        texts = []
        last_user = ""
        for m in req["messages"]:
            if not isinstance(m, dict):
                continue
            content = m.get("content")
            if isinstance(content, list):  # content parts
                content = " ".join(p.get("text", "") for p in content if isinstance(p, dict))
            if not isinstance(content, str):
                continue
            texts.append(content)
            if m.get("role") == "user":
                last_user = content
        everything = "\n".join(texts)
        if "FAIL_500" in everything:
            return self._send(500, {"error": {"message": "the model fell over",
                                              "type": "server_error"}})
        if "FAIL_429" in everything:
            return self._send(429, {"error": {"message": "rate limited",
                                              "type": "rate_limit_error"}},
                              headers=[("Retry-After", "1")])
        if "NULL_CONTENT" in everything:
            content = None
        elif "BAD_JSON" in everything:
            content = "Sure! Here is your outline: title, sections and a summary."
        else:
            content = json.dumps(_draft(last_user))
        prompt_tokens = _tokens(everything)
        completion_tokens = _tokens(content or "")
        return self._send(200, {
            "id": "chatcmpl-" + _digest(everything).hex()[:24],
            "object": "chat.completion",
            "created": 1700000000,
            "model": req.get("model", "standin"),
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        })

    def _embeddings(self, raw):
        req = self._json_body(raw)
        inputs = req.get("input") if isinstance(req, dict) else None
        if isinstance(inputs, str):
            inputs = [inputs]
        if not isinstance(inputs, list) or not all(isinstance(i, str) for i in inputs):
            return self._send(400, {"error": {"message": "input must be a string or list",
                                              "type": "invalid_request_error"}})
        dims = req.get("dimensions") if isinstance(req.get("dimensions"), int) else self.embedding_dims
        dims = max(1, min(dims, 4096))
        data = []
        for i, text in enumerate(inputs):
            if dims == 8:  # the first stand-in's numbers, which tests were written against
                words = struct.unpack(">8I", _digest(text))
            else:
                words = struct.unpack(">%dI" % dims, hashlib.shake_256(text.encode("utf-8")).digest(4 * dims))
            data.append({
                "object": "embedding",
                "index": i,
                "embedding": [round(w / 0xFFFFFFFF * 2 - 1, 6) for w in words],
            })
        tokens = sum(_tokens(t) for t in inputs)
        return self._send(200, {
            "object": "list",
            "data": data,
            "model": req.get("model", "standin-embed"),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        })

    do_GET = _handle
    do_POST = _handle
    do_PUT = _handle
    do_PATCH = _handle
    do_DELETE = _handle
    do_HEAD = _handle


class Server(ThreadingHTTPServer):
    daemon_threads = True
    # A fan-out opens hundreds of connections at once; the default listen
    # backlog (5) drops SYNs and costs each dropped client a 1 s retransmit.
    request_queue_size = 1024
    allow_reuse_address = True


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--delay-ms", type=int, default=0)
    ap.add_argument("--embedding-dims", type=int, default=8)
    args = ap.parse_args(argv)

    Handler.state = State()
    Handler.delay_ms = max(0, args.delay_ms)
    Handler.embedding_dims = args.embedding_dims
    server = Server(("127.0.0.1", args.port), Handler)

    def stop(signum, frame):
        # shutdown() waits for serve_forever, so it must not run on its thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    tmp = args.port_file + ".tmp.%d" % os.getpid()
    with open(tmp, "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.replace(tmp, args.port_file)
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
