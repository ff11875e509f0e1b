"""Disk full and I/O errors under real SMTP clients: yubind's runtime with
faults injected into the PAL's file operations (tests/engine/fault_server.c).
A message that could not be stored gets a 4xx (never 250), nothing partial
becomes visible in new/ or the queue, and the same message goes through once
the fault is gone."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import yb_harness as h  # noqa: E402
from test_smtp import MSG, SmtpServer  # noqa: E402

FAULT_SERVER = os.environ.get("FAULT_SERVER", "yb_fault_server")


def entries(path):
    return sorted(os.listdir(path)) if os.path.isdir(path) else []


class DiskFaults(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = SmtpServer('"SmtpGreetDelay"\t"0"\n', program=FAULT_SERVER)

    @classmethod
    def tearDownClass(cls):
        cls.s.stop()

    def set_fault(self, what):
        path = os.path.join(self.s.root, "fault")
        if what is None:
            if os.path.exists(path):
                os.unlink(path)
        else:
            h.write_atomic(self.s.root, "fault", what + "\n")

    def tearDown(self):
        self.set_fault(None)

    def local_send(self):
        with self.s.smtp() as c:
            c.ehlo("client.test")
            c.mail("a@remote.test")
            code, _ = c.rcpt("alice@example.test")
            self.assertEqual(code, 250)
            code, _ = c.rcpt("bob@example.test")
            self.assertEqual(code, 250)
            return c.data(MSG)

    def remote_send(self):
        with self.s.submission() as c:
            c.login("alice@example.test", "alice-secret")
            c.mail("alice@example.test")
            code, _ = c.rcpt("someone@elsewhere.test")
            self.assertEqual(code, 250)
            return c.data(MSG)

    def check_local(self, fault, want_code, want_enh):
        md = {u: self.s.maildir(u) for u in ("alice", "bob")}
        before = {u: entries(os.path.join(d, "new")) for u, d in md.items()}
        self.set_fault(fault)
        code, msg = self.local_send()
        self.assertEqual(code, want_code, msg)
        self.assertIn(want_enh, msg)
        for u, d in md.items():
            self.assertEqual(entries(os.path.join(d, "new")), before[u], fault)
            self.assertEqual(entries(os.path.join(d, "tmp")), [], "leftover in tmp/: " + fault)
        self.set_fault(None)
        code, msg = self.local_send()  # the client's retry
        self.assertEqual(code, 250, msg)
        for u, d in md.items():
            self.assertEqual(len(entries(os.path.join(d, "new"))), len(before[u]) + 1)

    def test_disk_full_while_writing(self):
        self.check_local("write", 452, b"4.3.1")

    def test_io_error_on_fsync(self):
        self.check_local("sync", 451, b"4.3.0")

    def test_disk_full_when_linking_into_new(self):
        self.check_local("link", 452, b"4.3.1")

    def test_disk_full_in_the_queue(self):
        spool = os.path.join(self.s.root, "spool")
        q0, m0 = entries(os.path.join(spool, "queue")), entries(os.path.join(spool, "msg"))
        for fault, want in (("write", b"4.3.1"), ("sync", b"4.3.0"), ("link", b"4.3.1")):
            self.set_fault(fault)
            code, msg = self.remote_send()
            self.assertIn(code, (451, 452), fault)
            self.assertIn(want, msg)
            self.assertEqual(entries(os.path.join(spool, "queue")), q0, fault)
            self.assertEqual(entries(os.path.join(spool, "msg")), m0, fault)
            self.assertEqual(entries(os.path.join(spool, "tmp")), [], fault)
        self.set_fault(None)
        code, msg = self.remote_send()
        self.assertEqual(code, 250, msg)
        self.assertEqual(len(entries(os.path.join(spool, "queue"))), len(q0) + 1)
        self.assertIn("storing the message failed", self.s.srv.log("smtp"))

    def test_local_failure_queues_nothing_for_remote_recipients(self):
        """A message for a local and a remote recipient whose local copy
        cannot be stored is refused as a whole: the remote copy must not be
        queued, or the client's retry would send it twice."""
        spool = os.path.join(self.s.root, "spool")
        q0 = entries(os.path.join(spool, "queue"))
        b0 = entries(os.path.join(self.s.maildir("bob"), "new"))
        self.set_fault("mdlink")
        with self.s.submission() as c:
            c.login("alice@example.test", "alice-secret")
            c.mail("alice@example.test")
            self.assertEqual(c.rcpt("bob@example.test")[0], 250)
            self.assertEqual(c.rcpt("someone@elsewhere.test")[0], 250)
            code, msg = c.data(MSG)
        self.assertEqual(code, 452, msg)
        self.assertEqual(entries(os.path.join(spool, "queue")), q0)
        self.assertEqual(entries(os.path.join(self.s.maildir("bob"), "new")), b0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
