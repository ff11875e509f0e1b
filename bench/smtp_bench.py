"""End-to-end SMTP receive rate: yubind against a throwaway Postfix.

Both servers run on loopback ports of this machine with their own temporary
directories, both deliver to a Maildir and both fsync (yubind always does;
Postfix does by default). Postfix's smtp-source sends the same load to each;
the clock runs from smtp-source's start until the last message is a file in
the Maildir's new/. Run by bench/smtp, which installs Postfix and builds
yubind first."""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from bench_yubind import free_port, start_yubind, stop_process, wait_greeting, write

SMTP_SOURCE = "/usr/sbin/smtp-source"
POSTFIX = "/usr/sbin/postfix"
POSTMAP = "/usr/sbin/postmap"
DOMAIN = "bench.test"
SENDER = "sender@client.test"
NOBODY = 65534  # uid and gid Postfix's virtual(8) delivers as


class Yubind:
    name = "yubind"

    def __init__(self, base, binary, users, extra_vars=()):
        self.binary = os.path.abspath(binary)
        self.root = os.path.join(base, "yubind")
        os.makedirs(self.root)
        extra = "".join('"%s"\t"%s"\n' % tuple(v.split("=", 1)) for v in extra_vars)
        self.proc, self.err, self.port, _ = start_yubind(self.binary, self.root, DOMAIN, users,
                                                         "bench", "SmtpListen", extra)
        wait_greeting(self.port, b"220", proc=self.proc, what="yubind")

    def new_dir(self, user):
        return os.path.join(self.root, "domains", DOMAIN, user, "Maildir", "new")

    def stop(self):
        stop_process(self.proc)
        self.err.close()


MASTER_CF = """\
# service type  private unpriv  chroot  wakeup  maxproc command
127.0.0.1:{port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""

# Postfix's defaults except what a private loopback instance needs: its own
# directories, one virtual mailbox domain delivered by virtual(8) into
# Maildirs under the temp dir, no chroot, its own log file. Queue-file and
# Maildir fsync are Postfix's defaults and are left on.
MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {base}/queue
data_directory = {base}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix.bench.localhost
mydomain = bench.localhost
myorigin = $myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relay_domains =
alias_maps =
alias_database =
biff = no
virtual_mailbox_domains = {domain}
virtual_mailbox_base = {base}/mail
virtual_mailbox_maps = hash:{base}/etc/vmailbox
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{uid}
maillog_file_prefixes = {base}
maillog_file = {base}/postfix.log
"""


class Postfix:
    name = "postfix"

    def __init__(self, base, users):
        self.base = os.path.join(base, "postfix")
        self.etc = os.path.join(self.base, "etc")
        for d in ("etc", "queue", "data", "mail"):
            os.makedirs(os.path.join(self.base, d))
        os.chmod(self.base, 0o755)
        pf = subprocess.run(["id", "-u", "postfix"], capture_output=True, text=True)
        pg = subprocess.run(["id", "-g", "postfix"], capture_output=True, text=True)
        os.chown(os.path.join(self.base, "data"), int(pf.stdout), int(pg.stdout))
        os.chown(os.path.join(self.base, "mail"), NOBODY, NOBODY)
        self.port = free_port()
        write(os.path.join(self.etc, "main.cf"),
              MAIN_CF.format(base=self.base, domain=DOMAIN, uid=NOBODY))
        write(os.path.join(self.etc, "master.cf"), MASTER_CF.format(port=self.port))
        write(os.path.join(self.etc, "vmailbox"),
              "".join("%s@%s %s/Maildir/\n" % (u, DOMAIN, u) for u in users))
        self.run([POSTMAP, "-c", self.etc, "hash:" + os.path.join(self.etc, "vmailbox")])
        self.started = False
        self.run([POSTFIX, "-c", self.etc, "start"], timeout=60)
        self.started = True
        wait_greeting(self.port, b"220", what="postfix")

    def run(self, argv, timeout=30):
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        if p.returncode != 0:
            raise RuntimeError("%s failed (%d): %s%s" % (" ".join(argv), p.returncode,
                                                        p.stdout, p.stderr))

    def new_dir(self, user):
        return os.path.join(self.base, "mail", user, "Maildir", "new")

    def stop(self):
        if not self.started:
            return
        try:
            self.run([POSTFIX, "-c", self.etc, "stop"], timeout=60)
        except (RuntimeError, subprocess.TimeoutExpired):
            subprocess.run([POSTFIX, "-c", self.etc, "abort"], capture_output=True, timeout=60)
        # postfix stop returns before every child has gone; wait for master's pid file.
        pid = os.path.join(self.base, "queue", "pid", "master.pid")
        deadline = time.monotonic() + 20
        while os.path.exists(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        self.started = False


def count(path):
    try:
        return sum(1 for _ in os.scandir(path))
    except FileNotFoundError:
        return 0


def cpu_ticks():
    """(busy, total) jiffies of the whole machine, or None off Linux."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v) - v[3] - v[4], sum(v)  # idle and iowait are not busy
    except (OSError, ValueError, IndexError):
        return None


def run_load(server, user, args):
    """Sends the load to server; returns (end-to-end s, smtp-source s, CPU busy %)."""
    new = server.new_dir(user)
    argv = [SMTP_SOURCE, "-l", str(args.size), "-m", str(args.messages),
            "-s", str(args.sessions), "-f", SENDER, "-t", "%s@%s" % (user, DOMAIN)]
    if args.reuse:
        argv.append("-d")
    argv.append("127.0.0.1:%d" % server.port)
    c0 = cpu_ticks()
    t0 = time.monotonic()
    src = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    src_done = None
    deadline = t0 + args.timeout
    n = 0
    next_count = t0
    while True:
        # Listing new/ costs CPU the servers need, so while smtp-source runs
        # count only twice a second (for the timeout); once it is done,
        # every 10 ms until the Maildir is complete.
        now = time.monotonic()
        if src_done is not None or now >= next_count:
            n = count(new)
            next_count = now + 0.5
        if src_done is None and src.poll() is not None:
            src_done = now - t0
            if src.returncode != 0:
                raise RuntimeError("smtp-source against %s failed (%d): %s" % (
                    server.name, src.returncode, src.stderr.read().decode(errors="replace")))
        if n >= args.messages:
            break
        if now > deadline:
            src.kill()
            src.wait()
            raise RuntimeError("%s: only %d of %d messages in %s after %d s" % (
                server.name, n, args.messages, new, args.timeout))
        time.sleep(0.01)
    t = time.monotonic() - t0
    c1 = cpu_ticks()
    busy = (100.0 * (c1[0] - c0[0]) / max(1, c1[1] - c0[1])) if c0 and c1 else float("nan")
    if src_done is None:
        src.wait(timeout=30)
        src_done = time.monotonic() - t0
    return t, src_done, busy


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--yubind", required=True)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--messages", type=int, default=5000)
    ap.add_argument("--size", type=int, default=4096, help="payload bytes per message")
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--reuse", action="store_true",
                    help="smtp-source -d: many messages per connection (default: one each)")
    ap.add_argument("--timeout", type=int, default=600, help="seconds per run")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (debugging)")
    ap.add_argument("--settle", type=float, default=6.0,
                    help="seconds to wait before each run: ext4 without a journal makes new "
                         "files pay for inodes freed in the last 5 s (recently_deleted), so "
                         "without a pause a server pays for the deletions of the one before it")
    ap.add_argument("--yubind-var", action="append", default=[], metavar="NAME=VALUE",
                    help="an extra server.tab variable for yubind (repeatable)")
    args = ap.parse_args()
    for tool in (SMTP_SOURCE, POSTFIX, POSTMAP):
        if not os.access(tool, os.X_OK):
            sys.exit("smtp bench: %s not found (bench/smtp installs postfix)" % tool)

    base = tempfile.mkdtemp(prefix="yubin-bench-smtp-")
    os.chmod(base, 0o755)  # Postfix's unprivileged daemons must reach their dirs
    users = ["r%d" % i for i in range(1, args.rounds + 1)]
    servers = []
    results = {"yubind": [], "postfix": []}
    old_term = signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    try:
        servers.append(Yubind(base, args.yubind, users, args.yubind_var))
        servers.append(Postfix(base, users))
        print("%d messages of %d bytes over %d concurrent sessions (%s), fsync on; "
              "%d round(s)" % (args.messages, args.size, args.sessions,
                               "many messages per connection" if args.reuse
                               else "one message per connection", args.rounds), flush=True)
        for r, user in enumerate(users):
            order = servers if r % 2 == 0 else servers[::-1]
            for s in order:
                time.sleep(args.settle)
                t, accept, busy = run_load(s, user, args)
                results[s.name].append(args.messages / t)
                print("round %d  %-7s  %7.0f msg/s end to end  (%.2f s; smtp-source done "
                      "at %.2f s; CPU %.0f%% busy)" % (r + 1, s.name, args.messages / t, t,
                                                       accept, busy), flush=True)
    finally:
        for s in servers:
            try:
                s.stop()
            except Exception as e:  # keep cleaning up
                print("stopping %s: %s" % (s.name, e), file=sys.stderr)
        signal.signal(signal.SIGTERM, old_term)
        if args.keep:
            print("kept %s" % base, file=sys.stderr)
        else:
            shutil.rmtree(base, ignore_errors=True)

    def summary(v):
        v = sorted(v)
        med = v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2
        return med, v[0], v[-1]

    y, p = summary(results["yubind"]), summary(results["postfix"])
    spread = lambda s: "" if args.rounds == 1 else "  (min %.0f, max %.0f)" % (s[1], s[2])
    print("yubind  %7.0f msg/s%s" % (y[0], spread(y)))
    print("postfix %7.0f msg/s%s" % (p[0], spread(p)))
    print("ratio yubind/postfix %.2fx (target: at least 3x)" % (y[0] / p[0]))


if __name__ == "__main__":
    main()
