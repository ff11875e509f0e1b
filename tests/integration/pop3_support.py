"""Helpers for the POP3 integration tests: a yubind root with accounts, the
listener ports, Maildir access, and SASL client steps (PLAIN, LOGIN,
SCRAM-SHA-256) over poplib, which has no AUTH of its own."""

import base64
import hashlib
import hmac
import os
import poplib
import re
import secrets
import shutil
import smtplib
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import yb_harness as h  # noqa: E402

PASSWORDS = {"alice": "alice-secret", "bob": "bob-secret", "carol": "carol secret",
             "dave": "dave-secret"}


stored_password = h.stored_password
tls_ctx = h.tls_ctx


class Pop3Server:
    def __init__(self, extra_server_tab="", root=None):
        if root is None:
            users = "".join('"example.test"\t"%s"\t"%s"\t%d\t"%s"\t"U"\n'
                            % (u, stored_password(pw), i + 1, u)
                            for i, (u, pw) in enumerate(sorted(PASSWORDS.items())))
            root = h.make_root({
                "server.tab": '"RootDomain"\t"example.test"\n"ConfigCheckInterval"\t"1s"\n'
                              '"SmtpListen"\t"127.0.0.1:0"\n"SubmissionListen"\t""\n'
                              '"SmtpsListen"\t""\n"Pop3Listen"\t"127.0.0.1:0"\n'
                              '"Pop3sListen"\t"127.0.0.1:0"\n"ImapListen"\t""\n"ImapsListen"\t""\n'
                              '"CtrlListen"\t""\n"CtrlsListen"\t""\n' + extra_server_tab,
                "domains.tab": '"example.test"\n',
                "mailusers.tab": users,
            })
        self.root = root
        self.start()

    def start(self):
        ports_tab = os.path.join(self.root, "run", "ports.tab")
        if os.path.exists(ports_tab):
            os.unlink(ports_tab)
        self.srv = h.Server(self.root)
        self.srv.wait_for(lambda: os.path.exists(ports_tab) and "started on" in
                          self.srv.log("yubind"), what="start-up")
        self.ports = h.read_ports(self.root)

    def maildir(self, user):
        return os.path.join(self.root, "domains", "example.test", user, "Maildir")

    def files(self, user):
        """Message file names in new/ and cur/, as 'new/x' or 'cur/x', in the
        server's order: delivery time from "<secs>.M<usecs>", then name."""
        out = []
        for sub in ("new", "cur"):
            d = os.path.join(self.maildir(user), sub)
            if os.path.isdir(d):
                out += [sub + "/" + n for n in os.listdir(d) if not n.startswith(".")]

        def key(n):
            m = re.match(r"(\d+)(?:\.M(\d+))?", n[4:])
            return (int(m.group(1)) if m else 0, int(m.group(2) or 0) if m else 0,
                    n[4:].split(":")[0])
        return sorted(out, key=key)

    def put(self, user, name, data, sub="new"):
        """Writes a message file directly (the way another MDA would)."""
        d = self.maildir(user)
        for s in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(d, s), exist_ok=True)
        tmp = os.path.join(d, "tmp", name)
        with open(tmp, "wb") as f:
            f.write(data)
        os.rename(tmp, os.path.join(d, sub, name))

    def send(self, rcpt, body, subject="hello"):
        msg = ("From: sender@remote.test\r\nTo: %s\r\nSubject: %s\r\n\r\n" % (rcpt, subject)
               ).encode() + body
        with smtplib.SMTP("127.0.0.1", self.ports["SmtpListen"], timeout=20) as c:
            c.sendmail("sender@remote.test", [rcpt], msg)
        return msg

    def pop3(self):
        return poplib.POP3("127.0.0.1", self.ports["Pop3Listen"], timeout=20)

    def pop3s(self):
        return poplib.POP3_SSL("127.0.0.1", self.ports["Pop3sListen"], timeout=20,
                               context=tls_ctx())

    def login(self, user, tls=True):
        c = self.pop3s() if tls else self.pop3()
        c.user(user + "@example.test")
        c.pass_(PASSWORDS[user])
        return c

    def pid(self):
        return self.srv.proc.pid

    def stop(self, keep_root=False):
        try:
            rc = self.srv.stop()
            err = self.srv.stderr()
            for bad in ("AddressSanitizer", "LeakSanitizer", "runtime error"):
                assert bad not in err, err
            return rc
        finally:
            if not keep_root:
                shutil.rmtree(self.root, ignore_errors=True)


# ---- SASL over poplib ----

def b64(data):
    return base64.b64encode(data).decode()


def auth_plain(c, user, pw):
    return c._shortcmd("AUTH PLAIN " + b64(b"\0" + user.encode() + b"\0" + pw.encode()))


def auth_login(c, user, pw):
    r = c._shortcmd("AUTH LOGIN")
    assert r.startswith(b"+ "), r
    r = c._shortcmd(b64(user.encode()))
    assert r.startswith(b"+ "), r
    return c._shortcmd(b64(pw.encode()))


def auth_scram(c, user, pw):
    """SCRAM-SHA-256 (RFC 5802/7677) as a client; checks the server's signature."""
    nonce = b64(secrets.token_bytes(18))
    first_bare = "n=%s,r=%s" % (user, nonce)
    r = c._shortcmd("AUTH SCRAM-SHA-256 " + b64(("n,," + first_bare).encode()))
    assert r.startswith(b"+ "), r
    server_first = base64.b64decode(r[2:]).decode()
    fields = dict(kv.split("=", 1) for kv in server_first.split(","))
    assert fields["r"].startswith(nonce)
    salted = hashlib.pbkdf2_hmac("sha256", pw.encode(), base64.b64decode(fields["s"]),
                                 int(fields["i"]))
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    stored_key = hashlib.sha256(client_key).digest()
    final_bare = "c=biws,r=%s" % fields["r"]
    auth_msg = ",".join([first_bare, server_first, final_bare]).encode()
    sig = hmac.new(stored_key, auth_msg, "sha256").digest()
    proof = bytes(a ^ b for a, b in zip(client_key, sig))
    r = c._shortcmd(b64((final_bare + ",p=" + b64(proof)).encode()))
    assert r.startswith(b"+ "), r
    server_final = base64.b64decode(r[2:]).decode()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()
    want = "v=" + b64(hmac.new(server_key, auth_msg, "sha256").digest())
    assert server_final == want, (server_final, want)
    return c._shortcmd("")


def vm_kib(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(field + " not in /proc/%d/status" % pid)
