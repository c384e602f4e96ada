"""The stand-in server (standin.py) as the Python tests use it: started on a
free loopback port as a subprocess, called without any HTTP proxy, stopped.

    stand = Standin(tmpdir, "--delay-ms", "20")
    stand.url, stand.port, stand.call("GET", "/stats"), stand.stats(),
    stand.reset(), stand.stop()
"""
import itertools
import json
import os
import subprocess
import sys
import time
import urllib.request

STANDIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "standin.py")
# Straight to 127.0.0.1 even when the environment names an HTTP proxy.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_ids = itertools.count(1)


class Standin:
    def __init__(self, tmpdir, *extra):
        self.port_file = os.path.join(tmpdir, "standin-port-%d" % next(_ids))
        self.proc = subprocess.Popen([sys.executable, STANDIN, "--port", "0",
                                      "--port-file", self.port_file, *extra],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not os.path.exists(self.port_file):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()
                sys.exit("FAIL: the stand-in server did not start")
            time.sleep(0.02)
        with open(self.port_file) as f:
            self.port = int(f.read())
        self.url = "http://127.0.0.1:%d" % self.port

    def call(self, method, path):
        req = urllib.request.Request(self.url + path, method=method,
                                     data=b"" if method == "POST" else None)
        with OPENER.open(req, timeout=30) as resp:
            return json.loads(resp.read())

    def stats(self):
        return self.call("GET", "/stats")

    def reset(self):
        self.call("POST", "/reset")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
