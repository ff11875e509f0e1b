"""POP3 under failure and load: yubind killed with SIGKILL in the middle of
a session deletes nothing and leaves no stale lock; a 50 MiB message is
streamed with flat server memory while the client reads slowly."""

import os
import signal
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pop3_support import Pop3Server, tls_ctx, vm_kib  # noqa: E402


def read_until(sock, end, limit=10 * 1024 * 1024):
    data = b""
    while not data.endswith(end):
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError("connection closed after %r" % data[-200:])
        data += chunk
        assert len(data) < limit
    return data


class Crash(unittest.TestCase):
    def test_kill9_mid_session_deletes_nothing(self):
        s = Pop3Server('"Pop3AllowPlaintextAuth"\t"yes"\n')
        try:
            for i in range(5):
                s.send("alice@example.test", b"survivor %d\r\n" % i)
            before = s.files("alice")
            self.assertEqual(len(before), 5)
            for rnd in range(3):
                with socket.create_connection(("127.0.0.1", s.ports["Pop3Listen"]), 10) as k:
                    read_until(k, b"\r\n")
                    k.sendall(b"USER alice@example.test\r\nPASS alice-secret\r\n")
                    self.assertIn(b"+OK Logged in, 5 messages", read_until(k, b")\r\n"))
                    k.sendall(b"".join(b"DELE %d\r\n" % (i + 1) for i in range(5)) +
                              b"STAT\r\n")
                    read_until(k, b"+OK 0 0\r\n")  # all five marked; QUIT never comes
                    os.kill(s.pid(), signal.SIGKILL)
                    s.srv.proc.wait(10)
                s.srv.errfile.close()
                self.assertEqual(s.files("alice"), before, "round %d" % rnd)
                s.start()
                # The dead process's lock went with it: a new session logs in at once.
                c = s.login("alice")
                self.assertEqual(c.stat()[0], 5)
                c.quit()
        finally:
            s.stop()


class BigMessage(unittest.TestCase):
    def test_50mib_retr_flat_memory(self):
        s = Pop3Server()
        try:
            line = b"x" * 76 + b"\n"  # stored with bare LF: converted while streaming
            body = b"Subject: big\n\n" + b"".join(
                (b"." if i % 100 == 0 else b"") + line for i in range(50 * 1024 * 1024 // 77))
            s.put("bob", "1700000000.M1P1.big", body)
            want_size = len(body) + body.count(b"\n")
            c = s.login("bob")
            self.assertEqual(c.list(1), b"+OK 1 %d" % want_size)
            pid = s.pid()
            rss_before = vm_kib(pid, "VmRSS")
            sock = c.sock
            c._putcmd("RETR 1")
            got = sock.recv(65536)
            self.assertTrue(got.startswith(b"+OK %d octets\r\n" % want_size))
            # Read slowly at first: the server must wait for us, not buffer the message.
            for _ in range(20):
                got += sock.recv(65536)
                time.sleep(0.05)
            rss_slow = vm_kib(pid, "VmRSS")
            total = len(got)
            tail = got[-5:]
            stuffed = got.count(b"\r\n..x")
            while not tail.endswith(b"\r\n.\r\n"):
                chunk = sock.recv(1 << 20)
                self.assertTrue(chunk)
                stuffed += (tail + chunk).count(b"\r\n..x") - tail.count(b"\r\n..x")
                total += len(chunk)
                tail = (tail + chunk)[-5:]
            rss_after = vm_kib(pid, "VmRSS")
            hwm = vm_kib(pid, "VmHWM")
            header = len(b"+OK %d octets\r\n" % want_size)
            dots = body.count(b"\n.")
            self.assertEqual(total, header + want_size + dots + 3)
            self.assertEqual(stuffed, dots)
            c.quit()
            print("VmRSS before %d KiB, while slow %d KiB, after %d KiB, VmHWM %d KiB"
                  % (rss_before, rss_slow, rss_after, hwm), file=sys.stderr)
            if os.environ.get("ASAN_OPTIONS"):
                return  # ASan's quarantine keeps freed memory resident; the native job measures
            # 50 MiB went through; the server grew by far less than the message.
            self.assertLess(rss_slow - rss_before, 8 * 1024)
            self.assertLess(rss_after - rss_before, 8 * 1024)
            self.assertLess(hwm - rss_before, 16 * 1024)
        finally:
            s.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
