#!/usr/bin/python3
"""A real SMTP server on loopback for tests and the demo: aiosmtpd (Debian's
python3-aiosmtpd, so run it with /usr/bin/python3) accepting every message
and writing each to OUTDIR as NNNN.eml, with the envelope in NNNN.json.

Usage: /usr/bin/python3 tests/standin/smtp_sink.py --outdir DIR --port-file F
Writes the port it listens on to F, and serves until SIGTERM.
"""
import argparse
import json
import os
import signal
import socket
import threading

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, outdir):
        self.outdir = outdir
        self.lock = threading.Lock()
        self.n = 0

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            n = self.n
            self.n += 1
        base = os.path.join(self.outdir, "%04d" % n)
        with open(base + ".eml", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        with open(base + ".json", "w") as f:
            json.dump({"from": envelope.mail_from, "to": envelope.rcpt_tos}, f)
        return "250 OK"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--outdir", required=True)
    ap.add_argument("--port-file", required=True)
    args = ap.parse_args()
    os.makedirs(args.outdir, exist_ok=True)
    port = free_port()
    ctrl = Controller(Sink(args.outdir), hostname="127.0.0.1", port=port)
    ctrl.start()
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(port))
    os.rename(tmp, args.port_file)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    ctrl.stop()


if __name__ == "__main__":
    main()
