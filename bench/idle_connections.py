#!/usr/bin/env python3
"""Memory per idle connection: opens N idle plaintext and (against a second
fresh server) N idle TLS connections to a server built on yubin's engine and reports the server's
resident memory growth per connection (VmRSS from /proc, Linux).

The server is the engine's test protocol (yb_echo_server) until the mail
protocols land; each connection completes its greeting (and TLS handshake)
and then sits idle, as a client waiting in IMAP IDLE or between SMTP
commands does."""

import argparse
import os
import resource
import selectors
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
import yb_harness  # noqa: E402


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def open_plain(port, n):
    socks, sel = [], selectors.DefaultSelector()
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        socks.append(s)
    greeted, deadline = 0, time.monotonic() + 120
    while greeted < n and time.monotonic() < deadline:
        for key, _ in sel.select(1):
            if key.fileobj.recv(256):
                greeted += 1
            sel.unregister(key.fileobj)
    if greeted != n:
        raise RuntimeError("only %d of %d plaintext greetings" % (greeted, n))
    return socks


def open_tls(port, n):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    socks = []
    for _ in range(n):
        s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)))
        if not s.recv(256):
            raise RuntimeError("TLS greeting missing")
        socks.append(s)
    return socks


def settle(pid):
    """RSS after the server has gone quiet (two equal readings 0.5 s apart)."""
    last = rss_kib(pid)
    for _ in range(20):
        time.sleep(0.5)
        now = rss_kib(pid)
        if now == last:
            return now
        last = now
    return last


def measure(server, kind, n, limit):
    """Starts a fresh server, opens n idle connections of one kind, returns KiB each."""
    root = tempfile.mkdtemp(prefix="yubin-bench-")
    srv = subprocess.Popen([server, "-r", root, "--per-ip", str(limit), "--max-conns",
                            str(limit), "--idle-ms", "3600000"])
    try:
        deadline = time.monotonic() + 20
        while not os.path.exists(os.path.join(root, "run", "ports.tab")):
            if time.monotonic() > deadline or srv.poll() is not None:
                sys.exit("server did not start")
            time.sleep(0.05)
        ports = yb_harness.read_ports(root)
        opener = open_plain if kind == "plain" else open_tls
        port = ports["EchoListen" if kind == "plain" else "EchosListen"]
        # Warm up so one-time allocations (worker stacks, TLS context) are not counted.
        for s in opener(port, 50):
            s.close()
        base = settle(srv.pid)
        t0 = time.monotonic()
        socks = opener(port, n)
        elapsed = time.monotonic() - t0
        after = settle(srv.pid)
        per = (after - base) / n
        print("%-9s %6d idle connections in %5.1f s: server RSS %d -> %d KiB, %.1f KiB each"
              % (kind, n, elapsed, base, after, per))
        for s in socks:
            s.close()
        return per
    finally:
        srv.terminate()
        try:
            srv.wait(30)
        except subprocess.TimeoutExpired:
            srv.kill()
        shutil.rmtree(root, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--server", required=True, help="path to yb_echo_server")
    ap.add_argument("-n", type=int, default=10000, help="connections of each kind")
    args = ap.parse_args()

    # Client and server each hold n descriptors per run; plaintext and TLS are
    # measured against separate fresh servers so that one process never needs
    # 2n (some sandboxes cap a process at 20,000).
    need = args.n + 200
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < need:
        sys.exit("the hard file-descriptor limit (%d) is below %d" % (hard, need))
    resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
    per_plain = measure(args.server, "plain", args.n, need)
    per_tls = measure(args.server, "tls", args.n, need)
    print("per idle plaintext connection: %.1f KiB (target <= 64 KiB)" % per_plain)
    print("per idle TLS connection:       %.1f KiB (target <= 128 KiB)" % per_tls)
    ok = per_plain <= 64 and per_tls <= 128
    print("result: %s" % ("within targets" if ok else "OVER TARGET"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
