"""POP3 download rate: yubind against a throwaway Dovecot (dovecot-pop3d) in
the same run, over copies of the same Maildirs.

10 accounts hold 1,000 messages of 4 KiB each (10,000 in all), written as a
Maildir delivery would (CRLF, S=/W= sizes in the names). Dovecot gets a copy
of the tree. For each server, 10 clients - one per account, since
a POP3 maildrop admits one session at a time - log in at the same moment,
RETR every message one command at a time (no pipelining), and QUIT without
DELE, so every round sees the same mail. The clock runs from the common
start until the last client has its QUIT answered. The clients are threads
of one small C program (bench/pop3_load.c), whose CPU time is printed next
to the servers', to show the load generator is not what limits the rate.
Run by bench/pop3, which installs Dovecot and builds yubind and the load
generator first."""

import argparse
import os
import pwd
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from bench_yubind import free_port, start_yubind, stop_process, wait_greeting, write

DOMAIN = "bench.test"
PASSWORD = "bench-password"


def make_mail(base, users, per_user, size):
    """ROOT-style tree base/domains/<domain>/<user>/Maildir with per_user messages each."""
    line = b"x" * 70 + b"\r\n"
    for u in users:
        md = os.path.join(base, "domains", DOMAIN, u, "Maildir")
        for sub in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(md, sub))
        for i in range(per_user):
            head = ("From: sender@client.test\r\nTo: %s@%s\r\nSubject: message %d\r\n"
                    "Message-ID: <%s.%d@client.test>\r\n\r\n" % (u, DOMAIN, i, u, i)).encode()
            body = (line * (size // len(line) + 1))[:size - len(head) - 2] + b"\r\n"
            data = head + body
            name = "%d.M%06dP1.bench,S=%d,W=%d" % (1700000000 + i, i, len(data), len(data))
            with open(os.path.join(md, "new", name), "wb") as f:
                f.write(data)


def cpu_seconds(pids):
    """CPU time of the processes, with that of their children that have exited
    (Dovecot's per-session pop3 processes are reaped by its master)."""
    total = 0
    hz = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += sum(int(x) for x in fields[11:15])  # utime, stime, cutime, cstime
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total / hz


class Yubind:
    name = "yubind"

    def __init__(self, base, binary, users, mail):
        self.binary = os.path.abspath(binary)
        self.root = os.path.join(base, "yubind")
        os.makedirs(self.root)
        shutil.copytree(os.path.join(mail, "domains"), os.path.join(self.root, "domains"))
        self.proc, self.err, self.port, self.stored = start_yubind(
            self.binary, self.root, DOMAIN, users, PASSWORD, "Pop3Listen",
            '"Pop3AllowPlaintextAuth"\t"yes"\n' + os.environ.get("YB_BENCH_EXTRA", ""))
        wait_greeting(self.port, b"+OK", self.proc, "yubind")

    def pids(self):
        return [self.proc.pid]

    def stop(self):
        stop_process(self.proc)
        self.err.close()


DOVECOT_CONF = """\
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
protocols = pop3
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = {uid}
mail_location = maildir:{mail}/domains/%d/%n/Maildir
# Leave the files where they are, as yubind does (RETR does not mark \\Seen).
pop3_no_flag_updates = yes
pop3_uidl_format = %f
passdb {{
  driver = passwd-file
  args = scheme=SCRAM-SHA-256 {base}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={mail}/home/%d/%n
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


class Dovecot:
    name = "Dovecot"

    def __init__(self, base, users, mail, stored):
        self.base = os.path.join(base, "dovecot")
        os.makedirs(self.base)
        self.mail = os.path.join(self.base, "mail")
        shutil.copytree(os.path.join(mail, "domains"), os.path.join(self.mail, "domains"))
        # Mail is read as nobody (Dovecot will not run mail processes as root).
        nobody = pwd.getpwnam("nobody")
        uid, gid = nobody.pw_uid, nobody.pw_gid
        for d, dirs, files in os.walk(self.mail):
            os.chown(d, uid, gid)
            for f in files:
                os.chown(os.path.join(d, f), uid, gid)
        os.chmod(self.base, 0o755)
        self.port = free_port()
        write(os.path.join(self.base, "passwd"),
              "".join("%s@%s:%s\n" % (u, DOMAIN, stored) for u in users))
        self.conf = os.path.join(self.base, "dovecot.conf")
        write(self.conf, DOVECOT_CONF.format(base=self.base, mail=self.mail, port=self.port,
                                             uid=uid, gid=gid))
        self.proc = subprocess.Popen(["/usr/sbin/dovecot", "-F", "-c", self.conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        wait_greeting(self.port, b"+OK", self.proc, "Dovecot")

    def pids(self):
        """The master and every process it started (login, auth, pop3 ...)."""
        out = [self.proc.pid]
        for p in os.listdir("/proc"):
            if p.isdigit():
                try:
                    with open("/proc/%s/stat" % p) as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                    if int(fields[1]) == self.proc.pid:
                        out.append(int(p))
                except (FileNotFoundError, ProcessLookupError, ValueError):
                    pass
        return out

    def stop(self):
        stop_process(self.proc)


# ---- the load generator ----

def run_load(server, users, load):
    """Runs yb_pop3_load (bench/pop3_load.c: one thread per account) once."""
    cpu0 = cpu_seconds(server.pids())
    p = subprocess.Popen([load, str(server.port), DOMAIN, PASSWORD] + users,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    out, err = p.stdout.read().decode(), p.stderr.read().decode()
    p.stdout.close()
    p.stderr.close()
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise RuntimeError("the load generator failed (%d): %s" % (p.returncode, err))
    time.sleep(0.2)  # let the server finish its sessions (and Dovecot reap their processes)
    cpu1 = cpu_seconds(server.pids())
    msgs, nbytes, secs = out.split()
    msgs, nbytes, secs = int(msgs), int(nbytes), float(secs)
    return {"msgs": msgs, "bytes": nbytes, "secs": secs, "rate": msgs / secs,
            "server_cpu": cpu1 - cpu0, "client_cpu": usage.ru_utime + usage.ru_stime}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--yubind", required=True)
    ap.add_argument("--load", required=True, help="yb_pop3_load (bench/pop3_load.c)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--users", type=int, default=10)
    ap.add_argument("--messages", type=int, default=1000, help="per user")
    ap.add_argument("--size", type=int, default=4096)
    args = ap.parse_args()
    users = ["u%02d" % i for i in range(args.users)]
    base = tempfile.mkdtemp(prefix="yubin-bench-pop3-")
    os.chmod(base, 0o755)
    servers = []
    try:
        mail = os.path.join(base, "mail")
        make_mail(mail, users, args.messages, args.size)
        y = Yubind(base, args.yubind, users, mail)
        servers.append(y)
        d = Dovecot(base, users, mail, y.stored)
        servers.append(d)
        print("%d accounts x %d messages of %d bytes, %d concurrent clients, %d rounds"
              % (args.users, args.messages, args.size, args.users, args.rounds))
        rates = {s.name: [] for s in servers}
        for rnd in range(args.rounds):
            order = servers if rnd % 2 == 0 else list(reversed(servers))
            for s in order:
                r = run_load(s, users, args.load)
                rates[s.name].append(r["rate"])
                print("round %d %-8s %6d msgs %7.1f MB in %6.2f s = %8.0f msg/s  "
                      "server CPU %5.2f s, clients CPU %5.2f s"
                      % (rnd + 1, s.name, r["msgs"], r["bytes"] / 1e6, r["secs"], r["rate"],
                         r["server_cpu"], r["client_cpu"]))
                sys.stdout.flush()
        ym = statistics.median(rates["yubind"])
        dm = statistics.median(rates["Dovecot"])
        print("median: yubind %.0f msg/s, Dovecot %.0f msg/s, ratio %.2fx (target 2x)"
              % (ym, dm, ym / dm))
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
