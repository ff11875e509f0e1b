"""The connection engine driven by real clients through a test-only echo
protocol (tests/engine/echo_server.c): pipelining, limits, timeouts,
slow-drip clients, STARTTLS injection, implicit TLS (Python's ssl and
openssl s_client), wake-ups, 1,000 concurrent clients, graceful shutdown and
reload under load."""

import os
import resource
import selectors
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

# A command prefix: "yb_echo_server", or "scripts/wine-run.sh yb_echo_server.exe".
ECHO = shlex.split(os.environ.get("ECHO_SERVER", "yb_echo_server"))

# 1,000 clients plus the server's own descriptors; children inherit the limit.
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
want = 8192 if hard == resource.RLIM_INFINITY else min(8192, hard)
if soft < want:
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def tls_client_ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Echo:
    """One echo_server process on a temporary root."""

    def __init__(self, *args):
        base = os.environ.get("YB_TEST_TMP") or None
        if base:
            os.makedirs(base, exist_ok=True)
        self.root = tempfile.mkdtemp(prefix="yubin-echo-", dir=base)
        self.errpath = os.path.join(self.root, "stderr.txt")
        self.err = open(self.errpath, "w")
        self.proc = subprocess.Popen([*ECHO, "-r", self.root, *args], stderr=self.err)
        portfile = os.path.join(self.root, "run", "ports.tab")
        deadline = time.monotonic() + 60  # wine's first start is slow
        while not os.path.exists(portfile):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise AssertionError("echo_server did not start: " + self.stderr())
            time.sleep(0.02)
        self.ports = self.read_ports()

    def read_ports(self):
        ports = {}
        with open(os.path.join(self.root, "run", "ports.tab")) as f:
            for line in f:
                if line.startswith("#"):
                    continue
                svc, ip, port = [x.strip('"') for x in line.rstrip("\n").split("\t")]
                ports[svc] = int(port)
        return ports

    def stderr(self):
        if hasattr(self, "final_stderr"):
            return self.final_stderr
        with open(self.errpath) as f:
            return f.read()

    def connect(self, service="EchoListen", timeout=10):
        s = socket.create_connection(("127.0.0.1", self.ports[service]), timeout=timeout)
        return Conn(s)

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("echo_server did not stop")
        self.err.close()
        self.final_stderr = self.stderr()
        shutil.rmtree(self.root, ignore_errors=True)
        return self.proc.returncode


class Conn:
    def __init__(self, sock):
        self.s = sock
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError("connection closed; buffered %r" % self.buf)
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line.decode("latin-1")

    def cmd(self, text):
        self.send(text.encode() + b"\r\n")
        return self.line()

    def closed(self, timeout=10):
        """True when the server closed the connection (after any remaining lines)."""
        self.s.settimeout(timeout)
        try:
            while True:
                chunk = self.s.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def starttls(self):
        self.s = tls_client_ctx().wrap_socket(self.s)
        self.buf = b""

    def close(self):
        self.s.close()


class Basics(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Echo()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def test_greeting_echo_and_pipelining(self):
        c = self.srv.connect()
        self.assertEqual(c.line(), "+ECHO ready plain")
        c.send(b"one\r\ntwo\r\nthree\nfour\r\n")  # bare LF still ends a command line
        self.assertEqual([c.line() for _ in range(4)], ["=one", "=two", "=three", "=four"])
        self.assertEqual(c.cmd("QUIT"), "+BYE")
        self.assertTrue(c.closed())

    def test_line_limit_exact_and_over(self):
        c = self.srv.connect()
        c.line()
        ok = "a" * 1000
        self.assertEqual(c.cmd(ok), "=" + ok)
        self.assertEqual(c.cmd("b" * 1001), "-ERR too long")
        self.assertEqual(c.cmd("c" * 100000), "-ERR too long")
        self.assertEqual(c.cmd("after"), "=after")  # the session goes on, nothing was split
        c.close()

    def test_nul_and_invalid_utf8_are_bytes(self):
        c = self.srv.connect()
        c.line()
        c.send(b"a\x00b\xff\xfe\r\n")
        self.assertEqual(c.line(), "=a\x00b\xff\xfe")
        c.close()

    def test_data_ends_only_at_crlf_dot_crlf(self):
        c = self.srv.connect()
        c.line()
        self.assertEqual(c.cmd("DATA"), "+SEND")
        # Every smuggling terminator is content; only CRLF.CRLF ends the body.
        c.send(b"a\n.\nb\r.\rc\r\n.\nd\n.\r\ne\r\n..f\r\n.\r\nAFTER\r\n")
        got = c.line()
        self.assertTrue(got.startswith("+GOT "), got)
        fields = dict(kv.split("=") for kv in got.split()[2:])
        self.assertEqual(int(fields["lf"]), 4)
        self.assertEqual(int(fields["cr"]), 2)
        self.assertEqual(c.line(), "=AFTER")  # the pipelined command after the body
        c.close()

    def test_body_limit_truncates_but_reads_all(self):
        c = self.srv.connect()
        c.line()
        c.cmd("DATA")
        c.send(b"x" * 100 + b"\r\n.\r\n")
        self.assertIn("trunc=0", c.line())
        c.close()

    def test_bytes_mode_and_zero_length(self):
        c = self.srv.connect()
        c.line()
        c.send(b"BYTES 5\r\n12\r\n3ID\r\n")
        self.assertTrue(c.line().startswith("+GOT 5 "))
        self.assertTrue(c.line().startswith("+ID "))
        c.send(b"BYTES 0\r\nQUIT\r\n")
        self.assertTrue(c.line().startswith("+GOT 0 "))
        self.assertEqual(c.line(), "+BYE")
        c.close()

    def test_starttls_discards_injected_plaintext(self):
        c = self.srv.connect()
        c.line()
        # The injected command arrives in the same packet as STARTTLS.
        c.send(b"STARTTLS\r\nINJECTED\r\n")
        self.assertEqual(c.line(), "+GO")
        c.starttls()
        self.assertTrue(c.line().startswith("+TLS TLSv1."))
        self.assertEqual(c.cmd("after"), "=after")  # INJECTED never ran
        c.close()

    def test_implicit_tls_python(self):
        s = socket.create_connection(("127.0.0.1", self.srv.ports["EchosListen"]), timeout=10)
        c = Conn(tls_client_ctx().wrap_socket(s))
        self.assertEqual(c.line(), "+ECHO ready tls")
        self.assertIn(c.s.version(), ("TLSv1.2", "TLSv1.3"))
        self.assertEqual(c.cmd("hi"), "=hi")
        c.close()

    def test_implicit_tls_refuses_tls11_and_plaintext(self):
        ctx = tls_client_ctx()
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        s = socket.create_connection(("127.0.0.1", self.srv.ports["EchosListen"]), timeout=10)
        with self.assertRaises((ssl.SSLError, ConnectionResetError, OSError)):
            ctx.wrap_socket(s).recv(10)
        s.close()
        c = self.srv.connect("EchosListen")
        c.send(b"HELLO plaintext\r\n")
        self.assertTrue(c.closed())

    def test_openssl_s_client(self):
        if shutil.which("openssl") is None:
            self.fail("openssl is not installed (scripts/deps.sh installs it)")
        p = subprocess.run(["openssl", "s_client", "-connect",
                            "127.0.0.1:%d" % self.srv.ports["EchosListen"], "-quiet"],
                           input=b"hello s_client\r\nQUIT\r\n",
                           capture_output=True, timeout=20)
        self.assertIn(b"=hello s_client", p.stdout)
        self.assertIn(b"+BYE", p.stdout)
        p = subprocess.run(["openssl", "s_client", "-connect",
                            "127.0.0.1:%d" % self.srv.ports["EchoListen"], "-starttls", "smtp"],
                           input=b"", capture_output=True, timeout=20)
        # Not SMTP: s_client's STARTTLS dialogue fails, and the server must survive it.
        c = self.srv.connect()
        self.assertEqual(c.line(), "+ECHO ready plain")
        c.close()

    def test_wake_from_another_session(self):
        a = self.srv.connect()
        a.line()
        ident = a.cmd("ID").split()[1]
        self.assertEqual(a.cmd("IDLE"), "+IDLING")
        b = self.srv.connect()
        b.line()
        self.assertEqual(b.cmd("NOTIFY " + ident), "+NOTIFIED")
        self.assertEqual(a.line(), "* WOKE event")
        self.assertEqual(a.cmd("IDLE 200"), "+IDLING")
        self.assertEqual(a.line(), "* WOKE timer")
        a.close()
        b.close()

    def test_big_output_flow_control(self):
        c = self.srv.connect()
        c.line()
        c.send(b"BIG 20000000\r\n")
        n = 0
        while True:
            chunk = c.s.recv(1 << 20)
            self.assertTrue(chunk)
            n += len(chunk)
            if chunk.endswith(b"+BIG\r\n"):
                break
        self.assertEqual(n, 20000000 + len(b"\r\n+BIG\r\n"))
        c.close()


class Limits(unittest.TestCase):
    def test_idle_timeout(self):
        srv = Echo("--idle-ms", "400")
        try:
            c = srv.connect()
            c.line()
            t0 = time.monotonic()
            self.assertEqual(c.line(), "-ERR timeout idle")
            self.assertTrue(c.closed())
            self.assertLess(time.monotonic() - t0, 5)
        finally:
            srv.stop()

    def test_partial_line_does_not_extend_idle_timeout(self):
        srv = Echo("--idle-ms", "600")
        try:
            c = srv.connect()
            c.line()
            # Drip one byte every 100 ms, never finishing the line.
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                try:
                    c.send(b"x")
                except OSError:
                    break
                c.s.settimeout(0.1)
                try:
                    chunk = c.s.recv(100)
                    c.buf += chunk
                    if not chunk or b"timeout" in c.buf:
                        break
                except socket.timeout:
                    pass
            self.assertIn(b"-ERR timeout idle", c.buf)
        finally:
            srv.stop()

    def test_per_ip_limit(self):
        srv = Echo("--per-ip", "5")
        try:
            conns = [srv.connect() for _ in range(5)]
            for c in conns:
                self.assertEqual(c.line(), "+ECHO ready plain")
            extra = srv.connect()
            self.assertEqual(extra.line(), "-ERR busy")
            self.assertTrue(extra.closed())
            conns[0].cmd("QUIT")
            conns[0].closed()
            time.sleep(0.2)
            again = srv.connect()
            self.assertEqual(again.line(), "+ECHO ready plain")
        finally:
            srv.stop()

    def test_slow_drip_body_cut_while_normal_client_is_fast(self):
        srv = Echo("--rate", "2000/500")
        try:
            slow = srv.connect()
            slow.line()
            self.assertEqual(slow.cmd("DATA"), "+SEND")
            fast = srv.connect()
            fast.line()
            stop = time.monotonic() + 8
            cut = False
            while time.monotonic() < stop and not cut:
                try:
                    slow.send(b"x")
                except OSError:
                    cut = True
                    break
                # Meanwhile a normal client sends a 1 MB body at full speed.
                t0 = time.monotonic()
                self.assertEqual(fast.cmd("DATA"), "+SEND")
                fast.send(b"y" * 1000000 + b"\r\n.\r\n")
                self.assertTrue(fast.line().startswith("+GOT 1000002"))
                self.assertLess(time.monotonic() - t0, 3)
                slow.s.settimeout(0.2)
                try:
                    data = slow.s.recv(100)
                    slow.buf += data
                    cut = not data or b"timeout slow" in slow.buf
                except socket.timeout:
                    pass
            self.assertTrue(cut, "the slow client was never cut off")
            self.assertIn(b"-ERR timeout slow", slow.buf + b"")
        finally:
            srv.stop()

    def test_per_service_and_total_limits(self):
        srv = Echo("--per-service", "3")
        try:
            conns = [srv.connect() for _ in range(3)]
            for c in conns:
                self.assertEqual(c.line(), "+ECHO ready plain")
            extra = srv.connect()
            self.assertEqual(extra.line(), "-ERR busy")
            # The other service (the TLS listener) has its own count.
            s = socket.create_connection(("127.0.0.1", srv.ports["EchosListen"]), timeout=10)
            t = Conn(tls_client_ctx().wrap_socket(s))
            self.assertEqual(t.line(), "+ECHO ready tls")
        finally:
            srv.stop()
        srv = Echo("--max-conns", "2")
        try:
            a, b = srv.connect(), srv.connect()
            a.line()
            b.line()
            self.assertEqual(srv.connect().line(), "-ERR busy")
        finally:
            srv.stop()

    def test_tls_handshake_timeout(self):
        srv = Echo("--tls-ms", "500")
        try:
            c = srv.connect("EchosListen")  # connects, never says hello
            t0 = time.monotonic()
            self.assertTrue(c.closed(timeout=10))
            self.assertLess(time.monotonic() - t0, 5)
        finally:
            srv.stop()

    def test_accept_backs_off_when_out_of_descriptors(self):
        def low_limit():
            resource.setrlimit(resource.RLIMIT_NOFILE, (40, 40))

        base = os.environ.get("YB_TEST_TMP") or None
        root = tempfile.mkdtemp(prefix="yubin-echo-", dir=base)
        proc = subprocess.Popen([*ECHO, "-r", root, "--no-tls"], preexec_fn=low_limit,
                                stderr=subprocess.PIPE)
        try:
            portfile = os.path.join(root, "run", "ports.tab")
            deadline = time.monotonic() + 20
            while not os.path.exists(portfile):
                self.assertLess(time.monotonic(), deadline)
                time.sleep(0.02)
            port = int(open(portfile).read().splitlines()[1].split("\t")[2].strip('"'))
            conns = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(60)]
            time.sleep(0.5)

            def cpu():
                with open("/proc/%d/stat" % proc.pid) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

            c0, t0 = cpu(), time.monotonic()
            time.sleep(1.5)
            busy = (cpu() - c0) / (time.monotonic() - t0)
            self.assertLess(busy, 0.5, "the server spins while out of descriptors")
            for s in conns:
                s.close()
            # Once descriptors are free again, new clients are served.
            deadline = time.monotonic() + 10
            while True:
                try:
                    c = Conn(socket.create_connection(("127.0.0.1", port), timeout=3))
                    if c.line() == "+ECHO ready plain":
                        break
                except (OSError, EOFError):
                    pass
                self.assertLess(time.monotonic(), deadline, "accepting never resumed")
                time.sleep(0.2)
            c.close()
            proc.terminate()
            _, err = proc.communicate(timeout=20)
            self.assertIn(b"too many open files in process; pausing", err)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(20)
            shutil.rmtree(root, ignore_errors=True)


class Load(unittest.TestCase):
    def test_thousand_concurrent_clients(self):
        srv = Echo("--per-ip", "2000")
        try:
            sel = selectors.DefaultSelector()
            socks = []
            for i in range(1000):
                s = socket.create_connection(("127.0.0.1", srv.ports["EchoListen"]), timeout=10)
                s.setblocking(False)
                socks.append(s)
                sel.register(s, selectors.EVENT_READ, [i, b""])
            for i, s in enumerate(socks):
                s.sendall(b"client %d\r\n" % i)
            done = 0
            deadline = time.monotonic() + 60
            while done < 1000 and time.monotonic() < deadline:
                for key, _ in sel.select(timeout=1):
                    data = key.fileobj.recv(4096)
                    key.data[1] += data
                    want = b"+ECHO ready plain\r\n=client %d\r\n" % key.data[0]
                    if key.data[1] == want:
                        done += 1
                        sel.unregister(key.fileobj)
                    elif not data or len(key.data[1]) > len(want):
                        self.fail("client %d got %r" % (key.data[0], key.data[1]))
            self.assertEqual(done, 1000)
            c = srv.connect()
            c.line()
            self.assertIn("current=1001", c.cmd("STATS"))
            for s in socks:
                s.close()
        finally:
            srv.stop()

    def test_graceful_shutdown_under_load(self):
        srv = Echo("--grace-ms", "5000", "--workers", "24")
        results = []
        sent = threading.Semaphore(0)

        def client():
            c = srv.connect()
            c.line()
            c.send(b"SLEEP 1500\r\n")
            sent.release()
            lines = []
            try:
                while True:
                    lines.append(c.line())
            except (EOFError, OSError):
                pass
            results.append(lines)

        idle = [srv.connect() for _ in range(20)]
        for c in idle:
            c.line()
        threads = [threading.Thread(target=client) for _ in range(20)]
        for t in threads:
            t.start()
        for _ in threads:
            self.assertTrue(sent.acquire(timeout=10))
        time.sleep(0.5)  # every SLEEP is running on a worker now
        t0 = time.monotonic()
        self.assertEqual(srv.stop(), 0)
        self.assertLess(time.monotonic() - t0, 5)
        for t in threads:
            t.join(10)
        self.assertEqual(len(results), 20)
        for lines in results:
            # The running command finished, then the session said goodbye.
            self.assertEqual(lines, ["+SLEPT", "-ERR timeout shutdown"])
        for c in idle:
            self.assertEqual(c.line(), "-ERR timeout shutdown")
            self.assertTrue(c.closed())

    def test_listeners_added_and_removed_under_load(self):
        srv = Echo("--toggle-listener")
        stop = threading.Event()
        errors = []

        def hammer():
            # Keeps connecting to whatever port the extra listener last had.
            while not stop.is_set():
                port = srv.read_ports().get("EchoExtraListen")
                if port is None:
                    time.sleep(0.005)
                    continue
                try:
                    s = socket.create_connection(("127.0.0.1", port), timeout=2)
                    s.recv(64)
                    s.close()
                except OSError:
                    pass  # refused while the listener is away: expected

        threads = [threading.Thread(target=hammer) for _ in range(4)]
        for t in threads:
            t.start()
        try:
            for i in range(10):
                srv.proc.send_signal(signal.SIGHUP)
                want = "reloaded"
                deadline = time.monotonic() + 10
                while srv.stderr().count(want) < i + 1:
                    self.assertLess(time.monotonic(), deadline, "reload %d did not finish" % i)
                    time.sleep(0.01)
                port = srv.read_ports().get("EchoExtraListen")
                if i % 2 == 0:
                    # Added: it serves.
                    self.assertIsNotNone(port)
                    c = Conn(socket.create_connection(("127.0.0.1", port), timeout=5))
                    self.assertEqual(c.line(), "+ECHO ready plain")
                    c.close()
                else:
                    self.assertIsNone(port)
            c = srv.connect()
            self.assertEqual(c.line(), "+ECHO ready plain")  # the fixed listener never left
            c.close()
        finally:
            stop.set()
            for t in threads:
                t.join(10)
        self.assertEqual(srv.stop(), 0)
        self.assertEqual(errors, [])

    def test_reload_under_load(self):
        srv = Echo()
        stop = threading.Event()
        errors = []
        counts = []

        def client():
            try:
                c = srv.connect()
                c.line()
                n = 0
                while not stop.is_set():
                    if c.cmd("ping %d" % n) != "=ping %d" % n:
                        errors.append("bad echo")
                    n += 1
                counts.append(n)
                c.close()
            except Exception as e:  # noqa: BLE001 - report any failure
                errors.append(repr(e))

        threads = [threading.Thread(target=client) for _ in range(10)]
        for t in threads:
            t.start()
        for _ in range(5):
            time.sleep(0.2)
            srv.proc.send_signal(signal.SIGHUP)
        time.sleep(0.3)
        # New connections work after the reloads, on the same ports.
        c = srv.connect()
        self.assertEqual(c.line(), "+ECHO ready plain")
        c.close()
        stop.set()
        for t in threads:
            t.join(10)
        self.assertEqual(errors, [])
        self.assertEqual(len(counts), 10)
        self.assertTrue(all(n > 0 for n in counts))
        self.assertEqual(srv.stop(), 0)
        self.assertEqual(srv.stderr().count("reloaded"), 5)


class WineSmoke(Basics):
    """The Basics suite against the Windows build under wine (scripts/test.sh
    runs it with ECHO_SERVER pointing at wine-run.sh and the .exe)."""


if __name__ == "__main__":
    unittest.main(verbosity=2)
