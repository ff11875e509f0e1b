"""Outbound queue drain rate of yubind against Postfix's smtp-sink.

1. A yubind root with the queue held (QueueWorkers 0) receives MESSAGES
   messages over SMTP from smtp-source, to DOMAINS remote domains
   (d0.test ... dN.test, one recipient each, 4 KiB bodies), so they sit in
   ROOT/spool/queue exactly as the SMTP server queues them.
2. yubind is restarted with the queue running (server.tab defaults:
   16 delivery threads, 10 connections per domain, idle connections kept
   5 s; QueueMaxPerIP is raised to DOMAINS because one smtp-sink plays the
   servers of all the domains, which in real life have their own IPs) and DnsServers pointing at the tests' DNS responder
   (every dN.test has MX mx.dN.test, A 127.0.0.1). LogLevel is the default
   (info: a line per recipient and attempt), as in production.
3. The clock runs from the restart until spool/queue and spool/active are
   empty; smtp-sink (on 127.0.0.1, SmtpRemotePort) counts what it received.

Prints messages/second, the connections yubind opened and the transactions
it ran on reused connections (its "stopped:" log line)."""

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import yb_dns  # noqa: E402
import yb_harness  # noqa: E402

SMTP_SINK = "/usr/sbin/smtp-sink"
SMTP_SOURCE = "/usr/sbin/smtp-source"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


RUNNING = []  # the yubind processes started, stopped in main's finally whatever happens


def start(yubind, root, log, starts):
    p = subprocess.Popen([yubind, "-r", root], stdout=subprocess.DEVNULL, stderr=log)
    RUNNING.append(p)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with open(os.path.join(root, "logs", "yubind.log")) as f:
                if f.read().count("started on") >= starts:
                    return p
        except FileNotFoundError:
            pass
        if p.poll() is not None:
            raise RuntimeError("yubind exited during start-up")
        time.sleep(0.05)
    raise RuntimeError("yubind did not start")


def stop(p):
    p.send_signal(signal.SIGTERM)
    p.wait(60)


def count(d):
    return sum(1 for n in os.listdir(d) if not n.startswith("."))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--yubind", required=True)
    ap.add_argument("--messages", type=int, default=10000)
    ap.add_argument("--domains", type=int, default=100)
    args = ap.parse_args()
    yubind = os.path.abspath(args.yubind)
    n, ndom = args.messages, args.domains
    per = n // ndom
    tmp = tempfile.mkdtemp(prefix="yubin-outbound-")
    root = os.path.join(tmp, "root")
    os.makedirs(root)
    zone = {}
    for i in range(ndom):
        zone["d%d.test" % i] = {"MX": [(10, "mx.d%d.test" % i)]}
        zone["mx.d%d.test" % i] = {"A": ["127.0.0.1"]}
    dns = yb_dns.DnsServer(zone)
    sink_port = free_port()
    sink_out = open(os.path.join(tmp, "sink.txt"), "w")
    sink_cmd = [SMTP_SINK, "-c", "127.0.0.1:%d" % sink_port, "1000"]
    if os.getuid() == 0:
        sink_cmd[1:1] = ["-u", "nobody"]
    sink = subprocess.Popen(sink_cmd, stdout=sink_out, stderr=subprocess.STDOUT)
    log = open(os.path.join(tmp, "yubind.stderr"), "w")
    base = ('"RootDomain"\t"bench.local"\n"SmtpListen"\t"127.0.0.1:0"\n'
            '"SubmissionListen"\t""\n"SmtpsListen"\t""\n"Pop3Listen"\t""\n"Pop3sListen"\t""\n'
            '"ImapListen"\t""\n"ImapsListen"\t""\n"CtrlListen"\t""\n"CtrlsListen"\t""\n'
            '"DnsServers"\t"%s"\n"SmtpRemotePort"\t"%d"\n"QueueMaxPerIP"\t"%d"\n'
            % (dns.address, sink_port, ndom))
    try:
        write(os.path.join(root, "server.tab"), base + '"QueueWorkers"\t"0"\n')
        write(os.path.join(root, "domains.tab"), '"bench.local"\n')
        write(os.path.join(root, "smtprelay.tab"), '"127.0.0.0/8"\n')
        p = start(yubind, root, log, 1)
        port = yb_harness.read_ports(root)["SmtpListen"]
        t0 = time.monotonic()
        procs = []
        for i in range(ndom):
            procs.append(subprocess.Popen(
                [SMTP_SOURCE, "-l", "4096", "-m", str(per), "-s", "2", "-d",
                 "-f", "sender@bench.local", "-t", "user@d%d.test" % i, "127.0.0.1:%d" % port],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            if len(procs) >= 10:
                procs.pop(0).wait()
        for q in procs:
            q.wait()
        qdir = os.path.join(root, "spool", "queue")
        queued = count(qdir)
        print("queued %d messages for %d domains in %.1f s" % (queued, ndom,
                                                               time.monotonic() - t0))
        stop(p)
        write(os.path.join(root, "server.tab"), base)  # the queue's defaults
        t0 = time.monotonic()
        p = start(yubind, root, log, 2)
        adir = os.path.join(root, "spool", "active")
        prof = None
        if os.environ.get("YB_BENCH_PERF"):
            prof = subprocess.Popen(["perf", "record", "-g", "-o", os.environ["YB_BENCH_PERF"],
                                     "-p", str(p.pid)], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
        while count(qdir) > 0 or (os.path.isdir(adir) and count(adir) > 0):
            time.sleep(0.02)
        elapsed = time.monotonic() - t0
        if prof is not None:
            prof.send_signal(signal.SIGINT)
            prof.wait(60)
        stop(p)
        with open(os.path.join(root, "logs", "queue.log")) as f:
            stopped = [ln for ln in f if "stopped:" in ln][-1]
        m = re.search(r"(\d+) connections opened, (\d+) transactions on reused", stopped)
        print("drained %d messages in %.2f s: %.0f messages/s" % (queued, elapsed,
                                                                  queued / elapsed))
        print("connections opened: %s, transactions on reused connections: %s"
              % (m.group(1), m.group(2)))
        print("yubind: " + stopped.split("\t", 3)[3].strip())
    finally:
        for q in RUNNING:
            if q.poll() is None:  # a failed run must not leave yubind behind
                q.kill()
                q.wait(10)
        sink.send_signal(signal.SIGTERM)
        sink.wait(10)
        sink_out.close()
        dns.close()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
