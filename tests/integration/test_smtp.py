"""The SMTP server driven by real clients (Python's smtplib, raw sockets,
swaks): local delivery into Maildir, aliases, relay control, STARTTLS,
SMTPS, AUTH, submission rules, smuggling, size and quota limits, BDAT,
pipelining."""

import glob
import os
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import yb_harness as h  # noqa: E402


stored_password = h.stored_password
tls_ctx = h.tls_ctx


class SmtpServer:
    def __init__(self, extra_server_tab="", program=None):
        alice = stored_password("alice-secret")
        bob = stored_password("bob-secret")
        self.root = h.make_root({
            "server.tab": '"RootDomain"\t"example.test"\n"ConfigCheckInterval"\t"1s"\n'
                          '"SmtpListen"\t"127.0.0.1:0"\n"SubmissionListen"\t"127.0.0.1:0"\n'
                          '"SmtpsListen"\t"127.0.0.1:0"\n"Pop3Listen"\t""\n"Pop3sListen"\t""\n'
                          '"ImapListen"\t""\n"ImapsListen"\t""\n"CtrlListen"\t""\n"CtrlsListen"\t""\n'
                          + extra_server_tab,
            "domains.tab": '"example.test"\n',
            "mailusers.tab": '"example.test"\t"alice"\t"%s"\t1\t"alice"\t"U"\n'
                             '"example.test"\t"bob"\t"%s"\t2\t"bob"\t"U"\n' % (alice, bob),
            "aliases.tab": '"example.test"\t"info"\t"alice"\n'
                           '"example.test"\t"team"\t"alice"\n"example.test"\t"team"\t"bob"\n',
        })
        self.srv = h.Server(self.root, program=program)
        self.srv.wait_for(lambda: "started on" in self.srv.log("yubind"), what="start-up")
        self.ports = h.read_ports(self.root)

    def maildir(self, user):
        return os.path.join(self.root, "domains", "example.test", user, "Maildir")

    def messages(self, user):
        """The messages in new/, oldest first (by modification time, then name)."""
        out = []
        paths = glob.glob(os.path.join(self.maildir(user), "new", "*"))
        for path in sorted(paths, key=lambda p: (os.stat(p).st_mtime_ns, p)):
            with open(path, "rb") as f:
                out.append(f.read())
        return out

    def queued(self):
        return sorted(os.listdir(os.path.join(self.root, "spool", "queue"))) \
            if os.path.isdir(os.path.join(self.root, "spool", "queue")) else []

    def smtp(self):
        return smtplib.SMTP("127.0.0.1", self.ports["SmtpListen"], timeout=20)

    def submission(self):
        c = smtplib.SMTP("127.0.0.1", self.ports["SubmissionListen"], timeout=20)
        c.ehlo("client.test")
        c.starttls(context=tls_ctx())
        c.ehlo("client.test")
        return c

    def stop(self):
        try:
            return self.srv.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


MSG = b"From: a@remote.test\r\nTo: alice@example.test\r\nSubject: hi\r\n\r\nHello, world.\r\n"


class Receive(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = SmtpServer()

    @classmethod
    def tearDownClass(cls):
        cls.s.stop()

    def test_local_delivery_with_trace_headers(self):
        before = len(self.s.messages("alice"))
        with self.s.smtp() as c:
            c.sendmail("a@remote.test", ["alice@example.test"], MSG)
        msgs = self.s.messages("alice")
        self.assertEqual(len(msgs), before + 1)
        m = msgs[-1]
        self.assertTrue(m.startswith(b"Return-Path: <a@remote.test>\r\nReceived: from "), m[:200])
        self.assertIn(b"with ESMTP id ", m)
        self.assertTrue(m.endswith(MSG))
        # Maildir names carry the size (Dovecot's S=): true of every file in new/.
        newdir = os.path.join(self.s.maildir("alice"), "new")
        for name in os.listdir(newdir):
            self.assertIn(",S=%d," % os.path.getsize(os.path.join(newdir, name)), name)
        self.assertEqual(os.listdir(os.path.join(self.s.maildir("alice"), "tmp")), [])

    def test_alias_and_multi_alias_one_copy_each(self):
        a0, b0 = len(self.s.messages("alice")), len(self.s.messages("bob"))
        with self.s.smtp() as c:
            c.sendmail("a@remote.test", ["info@example.test", "team@example.test",
                                         "ALICE@Example.Test"], MSG)
        self.assertEqual(len(self.s.messages("alice")), a0 + 1)  # one copy per mailbox
        self.assertEqual(len(self.s.messages("bob")), b0 + 1)

    def test_unknown_user_and_relay_refused(self):
        with self.s.smtp() as c:
            c.ehlo("client.test")
            c.mail("a@remote.test")
            code, msg = c.rcpt("nobody@example.test")
            self.assertEqual(code, 550)
            self.assertIn(b"5.1.1", msg)
            code, msg = c.rcpt("someone@elsewhere.test")
            self.assertEqual(code, 554)
            self.assertIn(b"5.7.1", msg)
            # Percent hacks and source routes never make an address relayable.
            code, _ = c.rcpt("someone%elsewhere.test@example.test")
            self.assertEqual(code, 550)
            code, _ = c.docmd("RCPT TO:<@example.test:someone@elsewhere.test>")
            self.assertEqual(code, 554)

    def test_ehlo_and_auth_needs_tls(self):
        with self.s.smtp() as c:
            code, text = c.ehlo("client.test")
            self.assertEqual(code, 250)
            for ext in (b"PIPELINING", b"SIZE", b"8BITMIME", b"ENHANCEDSTATUSCODES", b"STARTTLS",
                        b"DSN", b"SMTPUTF8", b"CHUNKING"):
                self.assertIn(ext, text)
            self.assertNotIn(b"AUTH", text)
            code, _ = c.docmd("AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABhbGljZS1zZWNyZXQ=")
            self.assertEqual(code, 538)
            c.starttls(context=tls_ctx())
            code, text = c.ehlo("client.test")
            self.assertIn(b"AUTH PLAIN LOGIN SCRAM-SHA-256", text)
            self.assertNotIn(b"STARTTLS", text)

    def test_submission_auth_relay_and_queue(self):
        before = len(self.s.queued())
        with self.s.submission() as c:
            c.login("alice@example.test", "alice-secret")
            c.sendmail("alice@example.test", ["friend@elsewhere.test", "bob@example.test"], MSG)
        q = self.s.queued()
        self.assertEqual(len(q), before + 1)
        with open(os.path.join(self.s.root, "spool", "queue", q[-1])) as f:
            env = f.read()
        self.assertIn('"rcpt"\t"friend@elsewhere.test"\t"pending"', env)
        self.assertIn('"auth"\t"alice@example.test"', env)
        self.assertNotIn("bob@example.test", env)  # local recipients go to their Maildir

    def test_submission_rules(self):
        c = smtplib.SMTP("127.0.0.1", self.s.ports["SubmissionListen"], timeout=20)
        c.ehlo("client.test")
        c.starttls(context=tls_ctx())
        c.ehlo("client.test")
        code, msg = c.mail("alice@example.test")
        self.assertEqual(code, 530)  # AUTH first
        with self.assertRaises(smtplib.SMTPAuthenticationError):
            c.login("alice@example.test", "wrong")
        c.login("alice@example.test", "alice-secret")
        code, msg = c.mail("bob@example.test")
        self.assertEqual(code, 553)  # not alice's address
        code, _ = c.mail("info@example.test")
        self.assertEqual(code, 250)  # an alias of alice
        c.quit()

    def test_smtps_with_auth_login(self):
        c = smtplib.SMTP_SSL("127.0.0.1", self.s.ports["SmtpsListen"], timeout=20,
                             context=tls_ctx())
        c.ehlo("client.test")
        c.login("bob@example.test", "bob-secret")  # smtplib tries CRAM-MD5, PLAIN, LOGIN
        b0 = len(self.s.messages("alice"))
        c.sendmail("bob@example.test", ["alice@example.test"], MSG)
        c.quit()
        self.assertEqual(len(self.s.messages("alice")), b0 + 1)
        self.assertIn(b"with ESMTPSA", self.s.messages("alice")[-1])

    def raw(self):
        s = socket.create_connection(("127.0.0.1", self.s.ports["SmtpListen"]), timeout=20)
        f = s.makefile("rb")
        self.assertTrue(f.readline().startswith(b"220 "))
        return s, f

    def reply(self, f):
        lines = []
        while True:
            line = f.readline()
            self.assertTrue(line, "connection closed")
            lines.append(line)
            if line[3:4] != b"-":
                return lines

    def test_pipelining_replies_in_order(self):
        s, f = self.raw()
        s.sendall(b"EHLO client.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@example.test>\r\n"
                  b"RCPT TO:<nobody@example.test>\r\nDATA\r\n")
        self.reply(f)
        codes = [self.reply(f)[-1][:3] for _ in range(4)]
        self.assertEqual(codes, [b"250", b"250", b"550", b"354"])
        s.sendall(b"Subject: p\r\n\r\nbody\r\n.\r\nQUIT\r\n")
        self.assertEqual(self.reply(f)[-1][:3], b"250")
        self.assertEqual(self.reply(f)[-1][:3], b"221")
        s.close()

    def test_smuggling_bare_lf_refused_and_not_a_boundary(self):
        a0 = len(self.s.messages("alice"))
        s, f = self.raw()
        s.sendall(b"EHLO client.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@example.test>\r\n"
                  b"DATA\r\n")
        for _ in range(4):
            self.reply(f)
        # "\n.\n" must not end the message; the smuggled MAIL is data, not a command.
        s.sendall(b"Subject: s\r\n\r\nx\n.\nMAIL FROM:<evil@remote.test>\r\nRCPT TO:<bob@example.test>"
                  b"\r\n.\r\nNOOP\r\n")
        r = self.reply(f)[-1]
        self.assertTrue(r.startswith(b"550 5.5.2"), r)
        self.assertEqual(self.reply(f)[-1][:3], b"250")  # NOOP: the smuggled commands never ran
        s.close()
        self.assertEqual(len(self.s.messages("alice")), a0)

    def test_starttls_injection_discarded(self):
        s, f = self.raw()
        s.sendall(b"EHLO client.test\r\n")
        self.reply(f)
        s.sendall(b"STARTTLS\r\nRSET\r\n")
        self.assertTrue(self.reply(f)[-1].startswith(b"220 2.0.0"))
        t = tls_ctx().wrap_socket(s)
        tf = t.makefile("rb")
        t.sendall(b"NOOP\r\n")
        # The first reply after the handshake answers NOOP: the injected RSET never ran.
        self.assertEqual(tf.readline(), b"250 2.0.0 Ok\r\n")
        t.close()

    def test_bdat(self):
        a0 = len(self.s.messages("alice"))
        s, f = self.raw()
        s.sendall(b"EHLO client.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@example.test>\r\n")
        for _ in range(3):
            self.reply(f)
        s.sendall(b"BDAT 14\r\nSubject: b\r\n\r\nBDAT 6 LAST\r\nhello\n")
        self.assertTrue(self.reply(f)[-1].startswith(b"250"))
        self.assertTrue(self.reply(f)[-1].startswith(b"250 2.0.0 Ok"))
        s.close()
        msgs = self.s.messages("alice")
        self.assertEqual(len(msgs), a0 + 1)
        self.assertTrue(msgs[-1].endswith(b"Subject: b\r\n\r\nhello\n"))

    def test_commands_limits(self):
        s, f = self.raw()
        s.sendall(b"EHLO client.test\r\n")
        self.reply(f)
        s.sendall(b"NOOP " + b"x" * 505 + b"\r\n")  # 510 bytes: at the limit
        self.assertEqual(self.reply(f)[-1][:3], b"250")
        s.sendall(b"NOOP " + b"x" * 506 + b"\r\n")  # 511: over
        self.assertEqual(self.reply(f)[-1][:3], b"500")
        s.sendall(b"VRFY alice\r\nEXPN team\r\n")
        self.assertEqual(self.reply(f)[-1][:3], b"252")
        self.assertEqual(self.reply(f)[-1][:3], b"502")
        s.close()

    def test_swaks(self):
        if shutil.which("swaks") is None:
            self.fail("swaks is not installed (scripts/deps.sh --test installs it)")
        a0 = len(self.s.messages("alice"))
        p = subprocess.run(["swaks", "--server", "127.0.0.1", "--port",
                            str(self.s.ports["SubmissionListen"]), "--tls", "--auth", "PLAIN",
                            "--auth-user", "alice@example.test", "--auth-password", "alice-secret",
                            "--from", "alice@example.test", "--to", "alice@example.test"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(len(self.s.messages("alice")), a0 + 1)


class Limits(unittest.TestCase):
    def test_size_and_quota(self):
        s = SmtpServer('"MaxMessageSize"\t"20K"\n"MaxMBSize"\t"1"\n')
        try:
            with s.smtp() as c:
                with self.assertRaises(smtplib.SMTPSenderRefused):
                    c.sendmail("a@remote.test", ["alice@example.test"], MSG,
                               mail_options=["SIZE=30000"])
            with s.smtp() as c:
                c.ehlo("client.test")
                c.mail("a@remote.test")
                c.rcpt("alice@example.test")
                code, msg = c.data(b"Subject: big\r\n\r\n" + b"x" * 900 + b"\r\n" * 30)
                self.assertEqual(code, 250)
            with s.smtp() as c:
                c.ehlo("client.test")
                c.mail("a@remote.test")
                c.rcpt("alice@example.test")
                code, msg = c.data(b"Subject: too big\r\n\r\n" + (b"y" * 990 + b"\r\n") * 25)
                self.assertEqual(code, 552)
            # Fill the 1 MiB quota with messages under the size limit, then expect refusal.
            refused = False
            for _ in range(80):
                with s.smtp() as c:
                    c.ehlo("client.test")
                    c.mail("a@remote.test")
                    code, _ = c.rcpt("alice@example.test")
                    if code == 452:
                        refused = True
                        break
                    code, msg = c.data(b"Subject: fill\r\n\r\n" + (b"z" * 990 + b"\r\n") * 19)
                    if code == 552:
                        self.assertIn(b"5.2.2", msg)  # over quota, not a full disk
                        refused = True
                        break
                    self.assertEqual(code, 250)
            self.assertTrue(refused, "quota never enforced")
            used = sum(os.path.getsize(p) for p in glob.glob(os.path.join(s.maildir("alice"), "new", "*")))
            self.assertLessEqual(used, 1024 * 1024)
        finally:
            s.stop()


class PreGreeting(unittest.TestCase):
    """The MX listener pauses SmtpGreetDelay before its greeting; a client
    that talks first is refused, one that waited is let through at once."""

    @classmethod
    def setUpClass(cls):
        cls.s = SmtpServer('"SmtpGreetDelay"\t"2s"\n')

    @classmethod
    def tearDownClass(cls):
        cls.s.stop()

    def connect_from(self, source_ip, port_name="SmtpListen"):
        c = socket.create_connection(("127.0.0.1", self.s.ports[port_name]), timeout=20,
                                     source_address=(source_ip, 0))
        return c

    def read_all(self, c):
        out = b""
        while True:
            d = c.recv(4096)
            if not d:
                return out
            out += d

    def test_talking_first_is_refused_and_nothing_runs(self):
        a0 = len(self.s.messages("alice"))
        c = self.connect_from("127.0.0.3")
        c.sendall(b"EHLO spam.test\r\nMAIL FROM:<a@remote.test>\r\n"
                  b"RCPT TO:<alice@example.test>\r\nDATA\r\n" + MSG + b".\r\nQUIT\r\n")
        out = self.read_all(c)
        c.close()
        self.assertTrue(out.startswith(b"554 5.5.1 "), out)
        self.assertNotIn(b"220 ", out)   # never greeted
        self.assertNotIn(b"250", out)    # no command ran
        self.assertEqual(len(self.s.messages("alice")), a0)
        self.assertIn("talked before the greeting", self.s.srv.log("smtp"))

    def test_waiting_client_greeted_after_pause_then_remembered(self):
        c = self.connect_from("127.0.0.4")
        t0 = time.monotonic()
        banner = c.recv(4096)
        waited = time.monotonic() - t0
        self.assertTrue(banner.startswith(b"220 "), banner)
        self.assertGreaterEqual(waited, 1.5)  # the 2 s pause (1 s granularity allows 1.5+)
        c.sendall(b"QUIT\r\n")
        self.read_all(c)
        c.close()
        # The same address now gets its greeting at once: talking first is no longer refused.
        c = self.connect_from("127.0.0.4")
        c.sendall(b"EHLO client.test\r\nQUIT\r\n")
        out = self.read_all(c)
        c.close()
        self.assertTrue(out.startswith(b"220 "), out)
        self.assertIn(b"250-", out)
        self.assertIn(b"221 ", out)

    def test_submission_has_no_pause(self):
        c = self.connect_from("127.0.0.5", "SubmissionListen")
        c.sendall(b"EHLO client.test\r\nQUIT\r\n")
        out = self.read_all(c)
        c.close()
        self.assertTrue(out.startswith(b"220 "), out)
        self.assertIn(b"221 ", out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
