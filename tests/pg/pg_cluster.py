#!/usr/bin/env python3
"""A private PostgreSQL cluster for the tests: made with initdb in a new
temporary directory, started with pg_ctl on a free loopback port, stopped
and removed after. Debian's postgresql package provides the binaries (its
own system cluster is not used). As root, the cluster runs as the
`postgres` user (PostgreSQL refuses to run as root).

Usage: pg_cluster.py start STATE_FILE   writes {"url", "dir"} to STATE_FILE
       pg_cluster.py stop STATE_FILE    stops the cluster, removes its directory
       pg_cluster.py url STATE_FILE     prints the url
Standard library only.
"""
import glob
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile


def bindir():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                   key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    if not found:
        sys.exit("pg_cluster: no PostgreSQL server binaries (apt-get install postgresql)")
    return os.path.dirname(found[-1])


def as_owner(cmd):
    """The command as the cluster's owner: postgres when we are root."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--"] + cmd
    return cmd


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(state_file):
    if os.path.exists(state_file):
        stop(state_file)
    d = tempfile.mkdtemp(prefix="aos-pg-")
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(d, pw.pw_uid, pw.pw_gid)
    data = os.path.join(d, "data")
    b = bindir()
    subprocess.run(as_owner([os.path.join(b, "initdb"), "-D", data, "-U", "aos", "--auth=trust",
                             "-E", "UTF8", "--no-sync"]),
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    port = free_port()
    opts = "-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=200" % (port, d)
    p = subprocess.run(as_owner([os.path.join(b, "pg_ctl"), "-D", data, "-o", opts,
                                 "-l", os.path.join(d, "log"), "-w", "-t", "60", "start"]),
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        log = open(os.path.join(d, "log")).read() if os.path.exists(os.path.join(d, "log")) else ""
        sys.exit("pg_cluster: pg_ctl start failed: %s\n%s" % (p.stderr, log[-2000:]))
    url = "postgresql://aos@127.0.0.1:%d/postgres" % port
    with open(state_file, "w") as f:
        json.dump({"url": url, "dir": d}, f)
    print(url)


def stop(state_file):
    try:
        with open(state_file) as f:
            st = json.load(f)
    except (OSError, ValueError):
        return
    data = os.path.join(st["dir"], "data")
    if os.path.isdir(data):
        subprocess.run(as_owner([os.path.join(bindir(), "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"]),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    shutil.rmtree(st["dir"], ignore_errors=True)
    os.remove(state_file)


def main(argv):
    if len(argv) != 2 or argv[0] not in ("start", "stop", "url"):
        sys.exit(__doc__)
    if argv[0] == "start":
        start(os.path.abspath(argv[1]))
    elif argv[0] == "stop":
        stop(os.path.abspath(argv[1]))
    else:
        with open(argv[1]) as f:
            print(json.load(f)["url"])


if __name__ == "__main__":
    main(sys.argv[1:])
