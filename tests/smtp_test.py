#!/usr/bin/env python3
"""email.send over real SMTP: aosrun against aiosmtpd on loopback
(tests/standin/smtp_sink.py). Checks the message as received (envelope,
headers, body), the Message-ID derived from the effect key (the same on
every attempt, so a receiver can deduplicate), that a second run with the
same key sends nothing, and that a refused connection is a retryable `net`
error that fails the run with a clear message.

Usage: smtp_test.py PATH/TO/aosrun
"""
import email
import glob
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

AOSRUN = os.path.abspath(sys.argv[1])
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TMP = tempfile.mkdtemp(prefix="aos_smtp_")
sys.path.insert(0, os.path.join(ROOT, "tests", "standin"))
from harness import Checks  # noqa: E402

check = Checks()


def fnv64(text):
    """runtime/codec.cc's Digest: 64-bit FNV-1a as 16 hex digits."""
    h = 1469598103934665603
    for b in text.encode():
        h = ((h ^ b) * 1099511628211) % (1 << 64)
    return "%016x" % h


def run(*args):
    p = subprocess.run([AOSRUN, *args], cwd=TMP, capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


WORKFLOW = """workflow mail(to: string, name: string) {
  effect sent = email.send(to: to, subject: "Hello ${name}", body: "Hi ${name},\\nyour invoice is ready.") {
    key "hello-${to}"
    retry 2 backoff 100ms
  }
  output sent.message_id
}
"""

outdir = os.path.join(TMP, "mail")
port_file = os.path.join(TMP, "port")
sink = subprocess.Popen(["/usr/bin/python3", os.path.join(ROOT, "tests", "standin", "smtp_sink.py"),
                         "--outdir", outdir, "--port-file", port_file])
try:
    for _ in range(100):
        if os.path.exists(port_file):
            break
        time.sleep(0.05)
    port = open(port_file).read().strip()
    wf = os.path.join(TMP, "mail.aos")
    open(wf, "w").write(WORKFLOW)
    config = os.path.join(TMP, "aos.yaml")
    open(config, "w").write('smtp: {url: "smtp://127.0.0.1:%s", from: "ops@example.com"}\n' % port)
    data = os.path.join(TMP, "data")

    rc, out, err = run(wf, "--config", config, "--data", data, "--input", "to=ada@example.com",
                       "--input", "name=Ada", "--json")
    o = json.loads(out or "{}")
    check("email.send completes", rc == 0 and o.get("status") == "completed", (rc, out, err))
    msgs = sorted(glob.glob(os.path.join(outdir, "*.eml")))
    check("the SMTP server received one message", len(msgs) == 1, msgs)
    if msgs:
        m = email.message_from_bytes(open(msgs[0], "rb").read())
        env = json.load(open(msgs[0][:-4] + ".json"))
        check("envelope from and to", env == {"from": "ops@example.com", "to": ["ada@example.com"]}, env)
        check("headers", m["Subject"] == "Hello Ada" and m["To"] == "ada@example.com"
              and m["From"] == "ops@example.com", dict(m.items()))
        check("body", "your invoice is ready." in m.get_payload(), m.get_payload())
        check("the result is the Message-ID sent", o.get("output") == m["Message-ID"], (o.get("output"), m["Message-ID"]))
        check("the Message-ID is derived from the key and the recipient",
              m["Message-ID"] == "<%s.%s@aos.local>" % (fnv64("hello-ada@example.com"), fnv64("ada@example.com")),
              m["Message-ID"])

    # Same key again (a second run, same data directory): nothing is sent.
    rc, out2, err = run(wf, "--config", config, "--data", data, "--input", "to=ada@example.com",
                        "--input", "name=Ada", "--json")
    o2 = json.loads(out2 or "{}")
    check("a second run with the same key completes", rc == 0, (rc, out2, err))
    check("... with the recorded Message-ID", o2.get("output") == o.get("output"), (o, o2))
    check("... and sends nothing", len(glob.glob(os.path.join(outdir, "*.eml"))) == 1)

    # --replay-effects sends again, with the same deterministic Message-ID.
    rc, out3, err = run(wf, "--config", config, "--data", data, "--input", "to=ada@example.com",
                        "--input", "name=Ada", "--json", "--replay-effects")
    o3 = json.loads(out3 or "{}")
    check("--replay-effects sends again with the same Message-ID",
          rc == 0 and o3.get("output") == o.get("output")
          and len(glob.glob(os.path.join(outdir, "*.eml"))) == 2, (rc, out3, err))

    # cc, bcc, reply_to and html are sent: cc and bcc as envelope recipients
    # (Bcc never as a header), Reply-To, and the HTML as an alternative.
    full = os.path.join(TMP, "full.aos")
    open(full, "w").write('workflow full() {\n'
                          '  effect m = email.send(to: ["a@example.com", "b@example.com"], cc: "c@example.com",\n'
                          '    bcc: ["d@example.com"], reply_to: "help@example.com", subject: "Both",\n'
                          '    body: "plain text", html: "<p>rich</p>") { key "full-1" }\n'
                          '  output m.message_id\n}\n')
    before = set(glob.glob(os.path.join(outdir, "*.eml")))
    rc, out, err = run(full, "--config", config, "--data", data, "--json")
    new = sorted(set(glob.glob(os.path.join(outdir, "*.eml"))) - before)
    check("email.send with cc, bcc, reply_to and html completes", rc == 0 and len(new) == 1, (rc, out, err, new))
    if new:
        m = email.message_from_bytes(open(new[0], "rb").read())
        env = json.load(open(new[0][:-4] + ".json"))
        check("every recipient is in the envelope", sorted(env["to"]) ==
              ["a@example.com", "b@example.com", "c@example.com", "d@example.com"], env)
        check("To, Cc and Reply-To headers; no Bcc header", m["To"] == "a@example.com, b@example.com"
              and m["Cc"] == "c@example.com" and m["Reply-To"] == "help@example.com" and m["Bcc"] is None,
              dict(m.items()))
        parts = {p.get_content_type(): p.get_payload() for p in m.walk() if not p.is_multipart()}
        check("the text and the HTML as alternatives", m.get_content_type() == "multipart/alternative"
              and "plain text" in parts.get("text/plain", "") and "<p>rich</p>" in parts.get("text/html", ""),
              (m.get_content_type(), parts))

    # A value the checker could not type (any) is checked before sending.
    anyv = os.path.join(TMP, "any.aos")
    open(anyv, "w").write('workflow anyv(subject: any) {\n'
                          '  effect m = email.send(to: "a@example.com", subject: subject, body: "b") { key "any-1" }\n'
                          '  output m.message_id\n}\n')
    before = set(glob.glob(os.path.join(outdir, "*.eml")))
    rc, out, err = run(anyv, "--config", config, "--data", data, "--input", "subject=42", "--json")
    o = json.loads(out or "{}")
    check("a subject that is not a string fails with email.invalid, nothing sent", rc == 1
          and o.get("error", {}).get("kind") == "email.invalid"
          and set(glob.glob(os.path.join(outdir, "*.eml"))) == before, (rc, out, err))

    # No server: net errors, retried, then the run fails saying why.
    bad = os.path.join(TMP, "bad.yaml")
    open(bad, "w").write('smtp: {url: "smtp://127.0.0.1:1", from: "ops@example.com"}\n')
    rc, out, err = run(wf, "--config", bad, "--data", os.path.join(TMP, "data2"), "--input", "to=b@example.com",
                       "--input", "name=B", "--json")
    o = json.loads(out or "{}")
    check("a refused SMTP connection fails the run with kind net", rc == 1 and o.get("error", {}).get("kind") == "net"
          and "SMTP" in o.get("error", {}).get("message", ""), (rc, out, err))
finally:
    sink.send_signal(signal.SIGTERM)
    try:
        sink.wait(timeout=10)
    except subprocess.TimeoutExpired:
        sink.kill()

check.finish(TMP)
