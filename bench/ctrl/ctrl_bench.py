"""CTRL provisioning rate: N accounts created through one `yubinctl -f`
session, in steps so the rate can be read against the number of accounts
already present; then, with N accounts present, the time of a single
useradd and userpasswd (pre-hashed and clear passwords) and of an SMTP AUTH
login. Run by bench/ctrl, which builds yubind and yubinctl first."""

import argparse
import os
import shutil
import smtplib
import ssl
import subprocess
import sys
import tempfile
import time

DOMAIN = "bench.test"
ADMIN_PW = "bench-admin"


def stored(yubind, pw, iterations):
    p = subprocess.run([yubind, "--hash-password", "--iterations", str(iterations)],
                       input=pw.encode() + b"\n", capture_output=True, check=True, timeout=60)
    return p.stdout.decode().strip()


def read_ports(root, deadline):
    path = os.path.join(root, "run", "ports.tab")
    while time.monotonic() < deadline:
        if os.path.exists(path):
            ports = {}
            with open(path) as f:
                for line in f:
                    if not line.startswith("#"):
                        svc, _, port = [x.strip('"') for x in line.rstrip("\n").split("\t")]
                        ports[svc] = int(port)
            if "CtrlListen" in ports:
                return ports
        time.sleep(0.05)
    raise RuntimeError("yubind did not write run/ports.tab")


class Bench:
    def __init__(self, args):
        self.args = args
        self.tmp = tempfile.mkdtemp(prefix="yubin-ctrl-bench-")
        self.root = os.path.join(self.tmp, "root")
        os.makedirs(self.root)
        admin = stored(args.yubind, ADMIN_PW, 4096)
        with open(os.path.join(self.root, "server.tab"), "w") as f:
            f.write('"SmtpListen"\t""\n"SubmissionListen"\t"127.0.0.1:0"\n"SmtpsListen"\t""\n'
                    '"Pop3Listen"\t""\n"Pop3sListen"\t""\n"ImapListen"\t""\n"ImapsListen"\t""\n'
                    '"CtrlListen"\t"127.0.0.1:0"\n"CtrlsListen"\t""\n'
                    '"CtrlHashIterations"\t"%d"\n"LogLevel"\t"warn"\n' % args.iterations)
        with open(os.path.join(self.root, "ctrlaccounts.tab"), "w") as f:
            f.write('"bench"\t"%s"\t"admin"\n' % admin)
        self.err = open(os.path.join(self.tmp, "yubind.err"), "w")
        self.proc = subprocess.Popen([args.yubind, "-r", self.root], stdout=subprocess.DEVNULL,
                                     stderr=self.err)
        self.ports = read_ports(self.root, time.monotonic() + 30)

    def ctl_file(self, lines):
        """Runs the lines in one yubinctl -f session; returns seconds."""
        path = os.path.join(self.tmp, "cmds.txt")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        t0 = time.monotonic()
        p = subprocess.run([self.args.yubinctl, "-s", "127.0.0.1", "-n",
                            str(self.ports["CtrlListen"]), "-u", "bench", "-p", ADMIN_PW,
                            "-t", "600", "-f", path], capture_output=True, timeout=3600)
        dt = time.monotonic() - t0
        if p.returncode != 0:
            raise RuntimeError("yubinctl -f: exit %d: %s" % (p.returncode, p.stderr.decode()[:500]))
        return dt

    def smtp_login(self, user, pw):
        """Returns (seconds for the whole login, seconds for the AUTH command alone)."""
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        t0 = time.monotonic()
        c = smtplib.SMTP("127.0.0.1", self.ports["SubmissionListen"], timeout=60)
        c.ehlo("bench.client")
        c.starttls(context=ctx)
        c.ehlo("bench.client")
        t1 = time.monotonic()
        c.login(user, pw)
        t2 = time.monotonic()
        c.quit()
        return t2 - t0, t2 - t1

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.err.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def timed_ops(b, kind, names, pw):
    """One session of len(names) operations of kind; returns ms per operation."""
    if kind == "useradd":
        lines = ["useradd\t%s\t%s\t%s" % (DOMAIN, n, pw) for n in names]
    else:
        lines = ["userpasswd\t%s\t%s\t%s" % (DOMAIN, n, pw) for n in names]
    return b.ctl_file(lines) * 1000 / len(names)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--yubind", required=True)
    ap.add_argument("--yubinctl", required=True)
    ap.add_argument("--accounts", type=int, default=100000)
    ap.add_argument("--step", type=int, default=10000)
    ap.add_argument("--iterations", type=int, default=100000,
                    help="CtrlHashIterations: PBKDF2 cost of a clear password")
    ap.add_argument("--sample", type=int, default=200, help="operations per timed sample")
    args = ap.parse_args()
    b = Bench(args)
    try:
        hashed = stored(args.yubind, "pre-hashed-pw", args.iterations)
        b.ctl_file(["domainadd\t%s" % DOMAIN])
        print("yubinctl -f, one session, useradd with a pre-hashed password "
              "({SCRAM-SHA-256} value, %d iterations):" % args.iterations)
        print("%10s %10s %12s" % ("accounts", "seconds", "useradd/s"))
        made, t_all = 0, 0.0
        small = None
        while made < args.accounts:
            n = min(args.step, args.accounts - made)
            names = ["u%07d" % i for i in range(made, made + n)]
            dt = timed_ops(b, "useradd", names, hashed) * n / 1000
            made += n
            t_all += dt
            print("%10d %10.2f %12.0f" % (made, dt, n / dt), flush=True)
            if small is None:
                # per-operation figures with few accounts present, for the ratio below
                small = measure(b, args, made, hashed, tag="small")
        print("all %d: %.1f s, %.0f useradd/s sustained" % (made, t_all, made / t_all))
        big = measure(b, args, made, hashed, tag="big")
        print()
        print("%-40s %12s %12s %8s" % ("per operation (ms)", "%d accts" % small["n"],
                                       "%d accts" % big["n"], "ratio"))
        for k in ("useradd (pre-hashed)", "userpasswd (pre-hashed)", "useradd (clear)",
                  "userpasswd (clear)", "SMTP AUTH PLAIN (command)", "SMTP login (connect+TLS+AUTH)"):
            print("%-40s %12.2f %12.2f %8.2f" % (k, small[k], big[k], big[k] / small[k]))
    finally:
        b.stop()


def measure(b, args, present, hashed, tag):
    """Per-operation times with `present` accounts in place."""
    out = {"n": present}
    s = args.sample
    names = ["%s-a%05d" % (tag, i) for i in range(s)]
    out["useradd (pre-hashed)"] = timed_ops(b, "useradd", names, hashed)
    out["userpasswd (pre-hashed)"] = timed_ops(b, "userpasswd", names, hashed)
    few = max(2, s // 20)  # clear passwords are hashed by the server: slow on purpose
    cnames = ["%s-c%05d" % (tag, i) for i in range(few)]
    out["useradd (clear)"] = timed_ops(b, "useradd", cnames, "clear-pw")
    out["userpasswd (clear)"] = timed_ops(b, "userpasswd", cnames, "clear-pw-2")
    whole, auth = [], []
    for i in range(10):
        w, a = b.smtp_login("%s@%s" % (cnames[i % few], DOMAIN), "clear-pw-2")
        whole.append(w * 1000)
        auth.append(a * 1000)
    out["SMTP AUTH PLAIN (command)"] = median(auth)
    out["SMTP login (connect+TLS+AUTH)"] = median(whole)
    return out


if __name__ == "__main__":
    sys.exit(main())
