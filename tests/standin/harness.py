"""The stand-in server (standin.py) as the Python tests use it: started on a
free loopback port as a subprocess, called without any HTTP proxy, stopped.

    stand = Standin(tmpdir, "--delay-ms", "20")
    stand.url, stand.port, stand.call("GET", "/stats"), stand.stats(),
    stand.reset(), stand.stop()

and what every test script shares: its tally of checks (Checks) and how it
shows a command's result (show).
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


def decoded_records(data_dir):
    """Every key and value in every column of an AOS data directory, read
    through RocksDB with `ldb` (so Snappy-compressed blocks are decoded), as
    bytes. Opened as a secondary instance: nothing is written to data_dir.
    Raises when a column cannot be read: a scan that skips is no scan."""
    import shutil as _shutil
    import tempfile as _tempfile
    out = []
    sec = _tempfile.mkdtemp(prefix="aos-ldb-")
    try:
        p = subprocess.run(["ldb", "--db=" + data_dir, "--secondary_path=" + sec, "list_column_families"],
                           capture_output=True, text=True, timeout=60)
        if p.returncode != 0 or "{" not in p.stdout:
            raise RuntimeError("ldb cannot list the columns of %s: %s" % (data_dir, p.stderr))
        cfs = [c.strip() for c in p.stdout[p.stdout.index("{") + 1:p.stdout.index("}")].split(",")]
        for cf in cfs:
            p = subprocess.run(["ldb", "--db=" + data_dir, "--secondary_path=" + sec, "--column_family=" + cf,
                                "--hex", "scan"], capture_output=True, text=True, timeout=120)
            if p.returncode != 0:
                raise RuntimeError("ldb cannot scan %s of %s: %s" % (cf, data_dir, p.stderr))
            for line in p.stdout.splitlines():  # "0xKEY : 0xVALUE"
                for part in line.split(" : "):
                    part = part.strip()
                    if part.startswith("0x"):
                        out.append(bytes.fromhex(part[2:]))
    finally:
        _shutil.rmtree(sec, ignore_errors=True)
    return out


def secret_places(root, secret):
    """Where `secret` (bytes) occurs under root: in any file as stored, and in
    any record of any AOS data directory as decoded. A file that cannot be
    read is reported too, never skipped."""
    found = []
    for d, _, files in os.walk(root):
        if "CURRENT" in files and "IDENTITY" in files:
            for rec in decoded_records(d):
                if secret in rec:
                    found.append(d + " (a decoded record)")
                    break
        for fn in files:
            p = os.path.join(d, fn)
            if os.path.islink(p) or not os.path.isfile(p):
                continue
            try:
                with open(p, "rb") as f:
                    if secret in f.read():
                        found.append(p)
            except OSError as e:
                found.append("%s (unreadable: %s)" % (p, e))
    return found


class Checks:
    """Counts checks; a failed one is printed with its detail.

        c = Checks(); c.check("name", cond, detail); c.finish(tmpdir)
    """

    def __init__(self):
        self.passed = self.failed = 0

    def check(self, name, cond, detail=""):
        if cond:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL: {name}\n  {detail}".rstrip() + "\n", flush=True)
        return cond

    # check = Checks(); check("name", cond, detail) reads as a function.
    __call__ = check

    def finish(self, keep=None):
        """Prints 'N passed, M failed' and exits 1 on a failure (keeping `keep`)."""
        print(f"{self.passed} passed, {self.failed} failed")
        if self.failed:
            if keep:
                print("kept " + keep)
            sys.exit(1)
        if keep:
            import shutil as _shutil
            _shutil.rmtree(keep, ignore_errors=True)


def clean_env(**extra):
    """The environment for aosrun in tests: no proxies, no AOS_ settings."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy") and not k.startswith("AOS_")}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env.update(extra)
    return env


def show(rc, out, err):
    """A command's exit status and the ends of its output, for a failure."""
    return "rc=%s\nstdout=%s\nstderr=%s" % (rc, out[-1500:], err[-1500:])
