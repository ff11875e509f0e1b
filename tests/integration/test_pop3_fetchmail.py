"""fetchmail (Debian's package) against yubind's POP3S with --ssl, fetching
into a local mbox file through an MDA, in keep mode (messages stay, UIDLs
stop a second fetch) and in no-keep mode (fetched messages are deleted)."""

import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pop3_support import Pop3Server  # noqa: E402

FETCHMAIL = shutil.which("fetchmail")


class Fetchmail(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if FETCHMAIL is None:
            raise AssertionError("fetchmail is not installed (scripts/deps.sh --test)")
        cls.s = Pop3Server()
        cls.dir = os.path.join(cls.s.root, "fetchmail")
        os.makedirs(cls.dir)
        cls.mbox = os.path.join(cls.dir, "out.mbox")

    @classmethod
    def tearDownClass(cls):
        cls.s.stop()

    def fetch(self, mode, idfile="ids"):
        rc = os.path.join(self.dir, "fetchmailrc")
        with open(rc, "w") as f:
            f.write('poll 127.0.0.1 with proto POP3 port %d\n'
                    '  user "alice@example.test" there with password "alice-secret" is "root" here\n'
                    '  options no sslcertck %s\n'
                    '  mda "/bin/sh -c \'cat >> %s\'"\n'
                    % (self.s.ports["Pop3sListen"], mode, self.mbox))
        os.chmod(rc, 0o600)
        env = dict(os.environ, HOME=self.dir)
        p = subprocess.run([FETCHMAIL, "--ssl", "-f", rc, "-N", "--nosyslog", "-v",
                            "--idfile", os.path.join(self.dir, idfile),
                            "--pidfile", os.path.join(self.dir, "pid")],
                           capture_output=True, text=True, env=env, timeout=120)
        # 0: mail was fetched; 1: there was none (fetchmail's exit codes).
        self.assertIn(p.returncode, (0, 1), p.stdout + p.stderr)
        self.assertIn("SSL/TLS: using protocol TLSv1.", p.stdout + p.stderr)
        return p.returncode

    def mbox_messages(self):
        if not os.path.exists(self.mbox):
            return []
        with open(self.mbox, "rb") as f:
            data = f.read()
        return [m for m in data.split(b"Return-Path: <sender@remote.test>\n") if m]

    def test_keep_then_no_keep(self):
        for i in range(3):
            self.s.send("alice@example.test", b"fetch %d\r\n.a line with a dot\r\n" % i,
                        subject="fetch %d" % i)
        self.assertEqual(self.fetch("keep"), 0)
        got = self.mbox_messages()
        self.assertEqual(len(got), 3)
        for i in range(3):
            self.assertTrue(any(b"Subject: fetch %d\n" % i in m and
                                b"\nfetch %d\n.a line with a dot\n" % i in m for m in got))
        self.assertEqual(len(self.s.files("alice")), 3)  # kept on the server
        # Nothing new: the UIDLs fetchmail remembered still name the same messages.
        self.assertEqual(self.fetch("keep"), 1)
        self.assertEqual(len(self.mbox_messages()), 3)
        self.s.send("alice@example.test", b"the fourth\r\n", subject="fetch 3")
        self.assertEqual(self.fetch("keep"), 0)
        got = self.mbox_messages()
        self.assertEqual(len(got), 4)
        self.assertIn(b"Subject: fetch 3\n", got[3])
        # No-keep: everything is fetched once more and deleted from the server.
        self.assertEqual(self.fetch("nokeep fetchall", idfile="ids2"), 0)
        self.assertEqual(len(self.mbox_messages()), 8)
        self.assertEqual(self.s.files("alice"), [])
        self.assertEqual(self.fetch("nokeep fetchall", idfile="ids2"), 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
