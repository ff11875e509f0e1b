"""Shared helpers for yubin's integration tests: a temporary data root and a
real yubind process started on it, with bounded waits."""

import os
import signal
import ssl
import subprocess
import tempfile
import time

YUBIND = os.environ.get("YUBIND", "yubind")


LISTENERS = ("SmtpListen", "SubmissionListen", "SmtpsListen", "Pop3Listen", "Pop3sListen",
             "ImapListen", "ImapsListen", "CtrlListen", "CtrlsListen")


def make_root(files=None):
    """A fresh data root under $YB_TEST_TMP with the given {name: text} files.
    Every listener server.tab does not set is put on 127.0.0.1 with an
    OS-chosen port, so tests never bind the standard ports or collide; the
    outbound queue is held (QueueWorkers 0) unless server.tab sets it."""
    base = os.environ.get("YB_TEST_TMP") or None
    if base:
        os.makedirs(base, exist_ok=True)
    root = tempfile.mkdtemp(prefix="yubin-root-", dir=base)
    files = dict(files or {})
    server = files.get("server.tab", "")
    for var in LISTENERS:
        if '"%s"' % var not in server:
            server += '"%s"\t"127.0.0.1:0"\n' % var
    # The queue is held unless a test runs it (with its own DNS and receivers
    # on 127.0.0.1): tests never send mail to the outside world.
    if '"QueueWorkers"' not in server:
        server += '"QueueWorkers"\t"0"\n'

    files["server.tab"] = server
    for name, text in files.items():
        write_atomic(root, name, text)
    return root


def read_ports(root):
    """{service variable: port} from ROOT/run/ports.tab."""
    ports = {}
    with open(os.path.join(root, "run", "ports.tab")) as f:
        for line in f:
            if not line.startswith("#"):
                svc, _, port = [x.strip('"') for x in line.rstrip("\n").split("\t")]
                ports[svc] = int(port)
    return ports


def write_atomic(root, name, text):
    """Replaces ROOT/name the way an editor with safe writes does."""
    path = os.path.join(root, name)
    tmp = path + ".tmp-test"
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def stored_password(pw):
    """The mailusers.tab form of pw (yubind --hash-password, the fewest iterations allowed)."""
    p = subprocess.run([YUBIND, "--hash-password", "--iterations", "4096"],
                       input=pw.encode() + b"\n", capture_output=True, check=True, timeout=30)
    return p.stdout.decode().strip()


def tls_ctx():
    """A client TLS context that accepts the server's self-signed certificate."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def read_ports(root):
    """ROOT/run/ports.tab as {service: port} (the last address of each service)."""
    ports = {}
    with open(os.path.join(root, "run", "ports.tab")) as f:
        for line in f:
            if not line.startswith("#"):
                svc, _, port = [x.strip('"') for x in line.rstrip("\n").split("\t")]
                ports[svc] = int(port)
    return ports


def run(args, timeout=30):
    """Runs yubind to completion; returns (exit code, stdout, stderr)."""
    p = subprocess.run([YUBIND] + args, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


class Server:
    """A running yubind; stderr is collected to a file for wait_log()."""

    def __init__(self, root, extra_args=(), errname="stderr.txt", program=None):
        self.root = root
        self.errpath = os.path.join(root, errname)
        self.errfile = open(self.errpath, "w")
        self.proc = subprocess.Popen([program or YUBIND, "-r", root, *extra_args],
                                     stdout=subprocess.DEVNULL, stderr=self.errfile)

    def stderr(self):
        with open(self.errpath, encoding="utf-8", errors="replace") as f:
            return f.read()

    def log(self, service):
        path = os.path.join(self.root, "logs", service + ".log")
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_for(self, predicate, timeout=15.0, what="condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"yubind exited ({self.proc.returncode}) while waiting "
                                     f"for {what}; stderr:\n{self.stderr()}")
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}; stderr:\n{self.stderr()}")

    def count_in_log(self, service, text):
        return self.log(service).count(text)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=15.0):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("yubind did not stop on SIGTERM")
        self.errfile.close()
        return self.proc.returncode
