"""The POP3 server driven by Python's poplib and raw sockets: USER/PASS on
plaintext (when allowed), after STLS and on POP3S; AUTH PLAIN, LOGIN and
SCRAM-SHA-256; CAPA; STAT/LIST/UIDL/RETR/TOP/DELE/RSET/QUIT; messages
delivered by yubind's SMTP and written by another MDA (bare LF, leading
dots); UIDLs across sessions, restarts and an IMAP-style move to cur/; the
maildrop lock; DELE only at QUIT; failed logins; command limits."""

import os
import poplib
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import yb_harness as h  # noqa: E402
from pop3_support import (PASSWORDS, Pop3Server, auth_login, auth_plain,  # noqa: E402
                          auth_scram, tls_ctx)


class Plaintext(unittest.TestCase):
    """A server that allows passwords without TLS (Pop3AllowPlaintextAuth)."""

    @classmethod
    def setUpClass(cls):
        cls.s = Pop3Server('"Pop3AllowPlaintextAuth"\t"yes"\n"Pop3DefaultDomain"\t"example.test"\n')

    @classmethod
    def tearDownClass(cls):
        cls.s.stop()

    def test_capa(self):
        c = self.s.pop3()
        capa = c.capa()
        for k in ("TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "USER", "STLS"):
            self.assertIn(k, capa)
        self.assertEqual(capa["SASL"], ["PLAIN", "LOGIN", "SCRAM-SHA-256"])
        self.assertEqual(capa["IMPLEMENTATION"], ["yubin"])
        self.assertNotIn(b"<", c.getwelcome())  # no APOP timestamp
        with self.assertRaises(poplib.error_proto):
            c.apop("alice@example.test", "alice-secret")
        c.quit()

    def test_smtp_delivery_read_and_deleted_at_quit(self):
        sent = [self.s.send("bob@example.test", b"message %d\r\n.leading dot\r\n" % i,
                            subject="m%d" % i) for i in range(3)]
        c = self.s.pop3()
        c.user("bob@example.test")
        self.assertTrue(c.pass_("bob-secret").startswith(b"+OK"))
        count, size = c.stat()
        self.assertEqual(count, 3)
        files = self.s.files("bob")
        disk = [os.path.getsize(os.path.join(self.s.maildir("bob"), f)) for f in files]
        self.assertEqual(size, sum(disk))
        resp, listing, _ = c.list()
        self.assertEqual([int(x.split()[1]) for x in listing], disk)
        for i in range(3):
            resp, lines, octets = c.retr(i + 1)
            got = b"\r\n".join(lines) + b"\r\n"
            # The stored message has Return-Path and Received in front of what was sent.
            self.assertTrue(got.endswith(sent[i]), got)
            self.assertIn(b"\r\n.leading dot\r\n", got)  # poplib removed our stuffing dot
            self.assertEqual(octets, disk[i])  # what LIST said (poplib does not count stuffing)
        resp, lines, _ = c.top(2, 0)
        self.assertIn(b"Subject: m1", lines)
        self.assertEqual(lines[-1], b"")  # header and the blank line, no body
        resp, lines, _ = c.top(2, 1)
        self.assertEqual(lines[-1], b"message 1")
        c.dele(2)
        self.assertEqual(c.stat()[0], 2)
        with self.assertRaises(poplib.error_proto):
            c.retr(2)  # deleted in this session
        c.rset()
        self.assertEqual(c.stat()[0], 3)
        c.dele(1)
        c.dele(3)
        self.assertEqual(len(self.s.files("bob")), 3)  # nothing happens before QUIT
        self.assertIn(b"1 messages left", c.quit())
        self.assertEqual(self.s.files("bob"), [files[1]])
        c = self.s.pop3()
        c.user("bob@example.test")
        c.pass_("bob-secret")
        self.assertEqual(c.stat()[0], 1)
        c.dele(1)
        c.quit()
        self.assertEqual(self.s.files("bob"), [])

    def test_bare_user_with_default_domain(self):
        c = self.s.pop3()
        c.user("carol")
        self.assertTrue(c.pass_("carol secret").startswith(b"+OK"))  # a space in the password
        c.quit()

    def test_other_mda_bare_lf_and_dots(self):
        self.s.put("carol", "1700000000.M1P1.other", b"Subject: x\n\n.one\n..two\nend")
        c = self.s.pop3()
        c.user("carol@example.test")
        c.pass_("carol secret")
        resp, listing, _ = c.list()
        self.assertEqual(listing, [b"1 32"])  # 26 bytes, 4 LFs as CRLF, a CRLF added at the end
        # Raw bytes on the wire: CRLF everywhere, stuffed dots, the terminator.
        c._putcmd("RETR 1")
        raw = b""
        while not raw.endswith(b"\r\n.\r\n"):
            chunk = c.sock.recv(4096)
            self.assertTrue(chunk)
            raw += chunk
        self.assertEqual(raw, b"+OK 32 octets\r\nSubject: x\r\n\r\n..one\r\n...two\r\nend\r\n.\r\n")
        self.assertEqual(c.uidl(1), b"+OK 1 1700000000.M1P1.other")
        c.quit()

    def test_auth_mechanisms(self):
        for mech in (auth_plain, auth_login, auth_scram):
            c = self.s.pop3()
            self.assertTrue(mech(c, "alice@example.test", "alice-secret").startswith(b"+OK"),
                            mech.__name__)
            c.quit()
        c = self.s.pop3()
        with self.assertRaises(poplib.error_proto) as e:
            auth_plain(c, "alice@example.test", "wrong")
        self.assertIn(b"[AUTH]", e.exception.args[0])
        r = c._shortcmd("AUTH PLAIN")
        self.assertEqual(r, b"+ ")
        with self.assertRaises(poplib.error_proto) as e:
            c._shortcmd("*")
        self.assertIn(b"cancelled", e.exception.args[0])
        c.quit()

    def test_same_answer_and_time_for_unknown_user_and_wrong_password(self):
        def attempt(user, pw):
            c = self.s.pop3()
            c.user(user)
            t0 = time.monotonic()
            try:
                c.pass_(pw)
                raise AssertionError("login succeeded")
            except poplib.error_proto as e:
                reply = e.args[0]
            took = time.monotonic() - t0
            c.quit()
            return reply, took
        wrong = attempt("alice@example.test", "not-her-password")
        unknown = attempt("nobody@example.test", "not-her-password")
        baddomain = attempt("alice@elsewhere.test", "x")
        self.assertEqual(wrong[0], b"-ERR [AUTH] Authentication failed")
        self.assertEqual(unknown[0], wrong[0])
        self.assertEqual(baddomain[0], wrong[0])
        for r in (wrong, unknown, baddomain):
            self.assertGreaterEqual(r[1], 0.95)  # the failed-login delay
        self.assertLess(abs(wrong[1] - unknown[1]), 0.2)

    def test_maildrop_in_use(self):
        first = self.s.pop3()
        first.user("alice@example.test")
        first.pass_("alice-secret")
        second = self.s.pop3()
        second.user("alice@example.test")
        with self.assertRaises(poplib.error_proto) as e:
            second.pass_("alice-secret")
        self.assertTrue(e.exception.args[0].startswith(b"-ERR [IN-USE]"), e.exception.args[0])
        first.quit()
        second.user("alice@example.test")
        self.assertTrue(second.pass_("alice-secret").startswith(b"+OK"))
        second.quit()

    def test_dropped_connection_deletes_nothing(self):
        for i in range(2):
            self.s.send("alice@example.test", b"keep me %d\r\n" % i)
        before = self.s.files("alice")
        c = self.s.pop3()
        c.user("alice@example.test")
        c.pass_("alice-secret")
        n = c.stat()[0]
        for i in range(n):
            c.dele(i + 1)
        c.sock.close()  # no QUIT
        deadline = time.monotonic() + 10
        while True:  # the lock is free again once the server noticed
            c = self.s.pop3()
            c.user("alice@example.test")
            try:
                c.pass_("alice-secret")
                break
            except poplib.error_proto as e:
                self.assertIn(b"[IN-USE]", e.args[0])
                self.assertLess(time.monotonic(), deadline)
                c.quit()
                time.sleep(0.1)
        self.assertEqual(c.stat()[0], n)
        c.quit()
        self.assertEqual(self.s.files("alice"), before)

    def test_uidl_stable_across_sessions_and_imap_move(self):
        self.s.send("carol@example.test", b"uidl test\r\n")
        c = self.s.pop3()
        c.user("carol@example.test")
        c.pass_("carol secret")
        first = c.uidl()[1]
        c.quit()
        # What an IMAP client reading the message does: new/ -> cur/ with flags.
        md = self.s.maildir("carol")
        for name in os.listdir(os.path.join(md, "new")):
            os.rename(os.path.join(md, "new", name), os.path.join(md, "cur", name + ":2,S"))
        c = self.s.pop3()
        c.user("carol@example.test")
        c.pass_("carol secret")
        self.assertEqual(c.uidl()[1], first)
        for line in first:
            uid = line.split()[1]
            self.assertTrue(1 <= len(uid) <= 70 and all(0x21 <= b <= 0x7e for b in uid), uid)
        self.assertEqual(len(set(l.split()[1] for l in first)), len(first))
        # Flags change while this session is open: RETR still finds the file.
        for name in os.listdir(os.path.join(md, "cur")):
            os.rename(os.path.join(md, "cur", name),
                      os.path.join(md, "cur", name.split(":")[0] + ":2,RS"))
        for i in range(len(first)):
            c.retr(i + 1)
        c.quit()

    def test_errors_and_limits(self):
        c = self.s.pop3()
        for cmd, want in (("STAT", b"-ERR Log in first"), ("FOO", b"-ERR Unknown command"),
                          ("RETR x", b"-ERR Syntax error"), ("PASS x", b"-ERR USER first"),
                          ("USER " + "u" * 249, b"-ERR Line too long")):
            with self.assertRaises(poplib.error_proto) as e:
                c._shortcmd(cmd)
            self.assertEqual(e.exception.args[0], want, cmd)
        c.quit()
        # The engine's own limit: a line past the AUTH limit is dropped whole, once.
        c = self.s.pop3()
        c.sock.sendall(b"X" * 13000 + b"\r\nNOOP\r\n")
        self.assertEqual(c._getline()[0], b"-ERR Line too long")
        self.assertEqual(c._getline()[0], b"-ERR Log in first")
        c.quit()
        # Bad commands end the session (Pop3MaxBadCommands, 10 by default).
        c = self.s.pop3()
        c.sock.sendall(b"BAD\r\n" * 10)
        replies = [c._getline()[0] for _ in range(11)]
        self.assertEqual(replies[9], b"-ERR Unknown command")
        self.assertEqual(replies[10], b"-ERR Too many bad commands, closing connection")
        self.assertEqual(c.sock.recv(100), b"")

    def test_pipelining(self):
        for i in range(3):
            self.s.send("dave@example.test", b"pipe %d\r\n" % i)
        with socket.create_connection(("127.0.0.1", self.s.ports["Pop3Listen"]), 10) as k:
            k.sendall(b"USER dave@example.test\r\nPASS dave-secret\r\nSTAT\r\nRETR 1\r\n"
                      b"RETR 2\r\nRETR 3\r\nQUIT\r\n")
            data = b""
            while not data.endswith(b"signing off (3 messages left)\r\n"):
                chunk = k.recv(65536)
                self.assertTrue(chunk, data)
                data += chunk
        self.assertEqual(data.count(b"\r\n.\r\n"), 3)
        for i in range(3):
            self.assertIn(b"pipe %d\r\n" % i, data)


class TlsOnly(unittest.TestCase):
    """The default: passwords only over TLS (STLS or POP3S)."""

    @classmethod
    def setUpClass(cls):
        cls.s = Pop3Server('"IdleTimeout"\t"1s"\n')

    @classmethod
    def tearDownClass(cls):
        cls.s.stop()

    def test_plaintext_login_refused(self):
        c = self.s.pop3()
        capa = c.capa()
        self.assertNotIn("USER", capa)
        self.assertNotIn("SASL", capa)
        self.assertIn("STLS", capa)
        for f in (lambda: c.user("alice@example.test"),
                  lambda: auth_plain(c, "alice@example.test", "alice-secret")):
            with self.assertRaises(poplib.error_proto) as e:
                f()
            self.assertTrue(e.exception.args[0].startswith(b"-ERR [AUTH]"))
        c.quit()

    def test_stls_then_login(self):
        self.s.send("alice@example.test", b"over stls\r\n")
        c = self.s.pop3()
        c.stls(context=tls_ctx())
        capa = c.capa()
        self.assertIn("USER", capa)
        self.assertNotIn("STLS", capa)
        c.user("alice@example.test")
        c.pass_("alice-secret")
        self.assertGreaterEqual(c.stat()[0], 1)
        self.assertTrue(any(b"over stls" in b"\n".join(c.retr(i + 1)[1])
                            for i in range(c.stat()[0])))
        c.quit()

    def test_stls_discards_injected_commands(self):
        with socket.create_connection(("127.0.0.1", self.s.ports["Pop3Listen"]), 10) as k:
            k.recv(100)
            k.sendall(b"STLS\r\nUSER alice@example.test\r\n")
            self.assertEqual(k.recv(100), b"+OK Begin TLS negotiation\r\n")
            with tls_ctx().wrap_socket(k) as t:
                t.sendall(b"PASS alice-secret\r\n")
                self.assertEqual(t.recv(100), b"-ERR USER first\r\n")
                t.sendall(b"QUIT\r\n")
                t.recv(100)

    def test_pop3s_and_scram(self):
        c = self.s.pop3s()
        self.assertNotIn("STLS", c.capa())
        self.assertTrue(auth_scram(c, "bob@example.test", "bob-secret").startswith(b"+OK"))
        c.quit()
        c = self.s.login("carol")
        c.stat()
        c.quit()

    def test_idle_timeout_is_pop3s_own(self):
        # The engine's IdleTimeout is 1 s here; POP3's autologout (10 min) applies instead.
        c = self.s.login("alice")
        time.sleep(3)
        self.assertTrue(c.noop().startswith(b"+OK"))
        c.quit()


class Config(unittest.TestCase):
    def test_idle_timeout_below_ten_minutes_refused(self):
        root = h.make_root({"server.tab": '"Pop3IdleTimeout"\t"599"\n'})
        rc, out, err = h.run(["-r", root, "--check-config"])
        self.assertEqual(rc, 1, out + err)
        self.assertIn("Pop3IdleTimeout", out + err)
        h.write_atomic(root, "server.tab", '"Pop3IdleTimeout"\t"10m"\n')
        rc, out, err = h.run(["-r", root, "--check-config"])
        self.assertEqual(rc, 0, out + err)


class Restart(unittest.TestCase):
    def test_uidl_survives_restart(self):
        s = Pop3Server()
        try:
            for i in range(3):
                s.send("alice@example.test", b"restart %d\r\n" % i)
            c = s.login("alice")
            before = c.uidl()[1]
            c.quit()
            s.stop(keep_root=True)
            s.start()
            c = s.login("alice")
            self.assertEqual(c.uidl()[1], before)
            c.quit()
        finally:
            s.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
