"""yubind's command line and life cycle: configuration errors with their
position, external edits picked up without a restart, a bad edit keeping the
old configuration, SIGHUP reload and SIGTERM shutdown."""

import os
import shutil
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import yb_harness as h  # noqa: E402


class CommandLine(unittest.TestCase):
    def test_version_and_help(self):
        rc, out, _ = h.run(["--version"])
        self.assertEqual(rc, 0)
        self.assertRegex(out, r"^yubind \d+\.\d+\.\d+")
        rc, out, _ = h.run(["--help"])
        self.assertEqual(rc, 0)
        self.assertIn("--check-config", out)

    def test_usage_errors_exit_2(self):
        rc, _, err = h.run([])
        self.assertEqual(rc, 2)
        self.assertIn("-r ROOT", err)
        rc, _, err = h.run(["-r"])
        self.assertEqual(rc, 2)
        rc, _, err = h.run(["--bogus"])
        self.assertEqual(rc, 2)
        self.assertIn("--bogus", err)

    def test_missing_root(self):
        rc, _, err = h.run(["-r", "/nonexistent/yubin-root", "--check-config"])
        self.assertEqual(rc, 1)
        self.assertIn("/nonexistent/yubin-root", err)

    def test_check_config_ok_and_errors(self):
        root = h.make_root({"server.tab": '"LogLevel"\t"debug"\n',
                            "domains.tab": '"example.com"\n"example.org"\n'})
        try:
            rc, out, _ = h.run(["-r", root, "--check-config"])
            self.assertEqual(rc, 0)
            self.assertIn("configuration OK", out)
            h.write_atomic(root, "server.tab", '"LogLevel"\t"debug"\n"SmtpListen"\t"1.2.3:25"\n')
            rc, _, err = h.run(["-r", root, "--check-config"])
            self.assertEqual(rc, 1)
            self.assertIn("server.tab:2:14:", err)
            self.assertIn("1.2.3:25", err)
            h.write_atomic(root, "server.tab", "")
            h.write_atomic(root, "mailusers.tab", '"example.com"\t"al\x01ice"\n')
            rc, _, err = h.run(["-r", root, "--check-config"])
            self.assertEqual(rc, 1)
            self.assertIn("mailusers.tab:1:18: control character", err)
            with open(os.path.join(root, "mailusers.tab"), "wb") as f:
                f.write(b'"example.com"\t"caf\xe9"\n')  # Latin-1, not UTF-8
            rc, _, err = h.run(["-r", root, "--check-config"])
            self.assertEqual(rc, 1)
            self.assertIn("mailusers.tab:1:20: invalid UTF-8", err)
        finally:
            shutil.rmtree(root, ignore_errors=True)


class LifeCycle(unittest.TestCase):
    def setUp(self):
        self.root = h.make_root({"server.tab": '"ConfigCheckInterval"\t"1s"\n',
                                 "domains.tab": '"one.example"\n'})
        self.srv = h.Server(self.root)
        self.srv.wait_for(lambda: "started on" in self.srv.log("yubind"), what="start-up")

    def tearDown(self):
        try:
            self.srv.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def test_external_edit_bad_edit_and_fix(self):
        srv = self.srv
        h.write_atomic(self.root, "domains.tab", '"one.example"\n"two.example"\n')
        # 13: 2 domains, ConfigCheckInterval, 9 listeners and the harness's QueueWorkers.
        srv.wait_for(lambda: "configuration reloaded (generation 2, 13 records)" in srv.log("config"),
                     what="reload after an edit")
        h.write_atomic(self.root, "domains.tab", '"one.example"\n"tw\x7fo"\n')
        srv.wait_for(lambda: "keeping the previous configuration" in srv.log("config"),
                     what="bad edit refused")
        self.assertIn("domains.tab:2:4: control character", srv.log("config"))
        # Reported once, not on every check.
        before = srv.count_in_log("config", "keeping the previous")
        time.sleep(2.5)
        self.assertEqual(srv.count_in_log("config", "keeping the previous"), before)
        h.write_atomic(self.root, "domains.tab", '"three.example"\n')
        srv.wait_for(lambda: "generation 3, 12 records" in srv.log("config"), what="fixed edit")

    def test_sighup_reload_and_sigterm(self):
        srv = self.srv
        srv.signal(signal.SIGHUP)
        srv.wait_for(lambda: "configuration reloaded (generation 2" in srv.log("config"),
                     what="SIGHUP reload")
        self.assertEqual(srv.stop(), 0)
        self.assertIn("shutting down", srv.log("yubind"))

    def test_log_level_change_applies(self):
        srv = self.srv
        h.write_atomic(self.root, "server.tab",
                       '"ConfigCheckInterval"\t"1s"\n"LogLevel"\t"warn"\n"Marker"\t"x"\n')
        marker = "unknown variable 'Marker' ignored"
        srv.wait_for(lambda: srv.count_in_log("config", marker) == 1, what="reload")
        srv.signal(signal.SIGHUP)
        # The forced reload warns again (WARN passes) but its INFO lines no longer appear.
        srv.wait_for(lambda: srv.count_in_log("config", marker) == 2, what="SIGHUP reload")
        time.sleep(0.5)
        self.assertEqual(srv.stop(), 0)
        self.assertNotIn("generation 3", srv.log("config"))
        self.assertNotIn("shutting down", srv.log("yubind"))

    def test_vanished_server_tab_keeps_the_running_configuration(self):
        """A deleted root (or server.tab) must not make a running server fall
        back to the defaults and bind the public ports 25, 587, 110 ..."""
        srv = self.srv
        with open(os.path.join(self.root, "run", "ports.tab")) as f:
            ports_before = f.read()
        os.unlink(os.path.join(self.root, "server.tab"))
        srv.wait_for(lambda: "server.tab: gone; keeping the previous configuration" in srv.log("config"),
                     what="the vanished server.tab noticed")
        srv.signal(signal.SIGHUP)  # a forced reload keeps it too
        srv.wait_for(lambda: srv.count_in_log("config", "server.tab: gone; keeping") >= 2, what="SIGHUP")
        time.sleep(1.5)
        with open(os.path.join(self.root, "run", "ports.tab")) as f:
            self.assertEqual(f.read(), ports_before)
        self.assertNotIn("0.0.0.0", srv.log("yubind") + srv.log("net"))
        h.write_atomic(self.root, "server.tab", '"ConfigCheckInterval"\t"1s"\n"LogLevel"\t"info"\n'
                       + "".join('"%s"\t""\n' % v for v in h.LISTENERS))
        srv.wait_for(lambda: "configuration reloaded" in srv.log("config"), what="restored")


class DaemonAndTls(unittest.TestCase):
    def setUp(self):
        self.root = h.make_root({"server.tab": '"ConfigCheckInterval"\t"1s"\n'
                                               '"RootDomain"\t"mail.example.test"\n'})

    def tearDown(self):
        shutil.rmtree(self.root, ignore_errors=True)

    def test_first_start_generates_certificate_and_ports_file(self):
        srv = h.Server(self.root)
        try:
            srv.wait_for(lambda: "started on" in srv.log("yubind"), what="start-up")
            chain = os.path.join(self.root, "tls", "chain.pem")
            key = os.path.join(self.root, "tls", "key.pem")
            self.assertTrue(os.path.exists(chain))
            self.assertEqual(os.stat(key).st_mode & 0o777, 0o600)
            self.assertIn("generated a self-signed one for mail.example.test", srv.log("tls"))
            out = subprocess.run(["openssl", "x509", "-in", chain, "-noout", "-ext",
                                  "subjectAltName"], capture_output=True, text=True)
            self.assertIn("DNS:mail.example.test", out.stdout)
            self.assertTrue(os.path.exists(os.path.join(self.root, "run", "ports.tab")))
        finally:
            self.assertEqual(srv.stop(), 0)
        # A second start keeps the certificate the first one made.
        before = open(os.path.join(self.root, "tls", "chain.pem")).read()
        srv = h.Server(self.root)
        try:
            srv.wait_for(lambda: srv.log("yubind").count("started on") == 2, what="restart")
        finally:
            srv.stop()
        self.assertEqual(open(os.path.join(self.root, "tls", "chain.pem")).read(), before)

    def test_replaced_certificate_is_loaded_without_restart(self):
        srv = h.Server(self.root)
        try:
            srv.wait_for(lambda: srv.log("tls").count("certificate loaded") == 1, what="start-up")
            tls = os.path.join(self.root, "tls")
            work = os.path.join(self.root, "newcert")
            os.makedirs(work)
            subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj",
                            "/CN=replaced.example.test", "-keyout", os.path.join(work, "key.pem"),
                            "-out", os.path.join(work, "chain.pem")],
                           check=True, capture_output=True, timeout=30)
            # Replace both files the way an ACME client does: each one atomically.
            for name in ("key.pem", "chain.pem"):
                os.replace(os.path.join(work, name), os.path.join(tls, name))
            srv.wait_for(lambda: srv.log("tls").count("certificate loaded") >= 2,
                         what="the new certificate to be loaded")
        finally:
            self.assertEqual(srv.stop(), 0)

    def test_half_a_certificate_pair_is_an_error_not_overwritten(self):
        os.makedirs(os.path.join(self.root, "tls"))
        with open(os.path.join(self.root, "tls", "chain.pem"), "w") as f:
            f.write("not a certificate\n")
        srv = h.Server(self.root)
        try:
            srv.wait_for(lambda: "started on" in srv.log("yubind"), what="start-up")
            self.assertIn("key.pem", srv.log("tls"))
            with open(os.path.join(self.root, "tls", "chain.pem")) as f:
                self.assertEqual(f.read(), "not a certificate\n")
        finally:
            srv.stop()

    def test_daemon_mode(self):
        rc, out, err = h.run(["-r", self.root, "-d"])
        self.assertEqual(rc, 0, err)
        pidfile = os.path.join(self.root, "run", "yubind.pid")
        pid = int(open(pidfile).read().split()[0])
        os.kill(pid, 0)  # alive
        log = os.path.join(self.root, "logs", "yubind.log")
        deadline = time.monotonic() + 15
        while "started on" not in (open(log).read() if os.path.exists(log) else ""):
            self.assertLess(time.monotonic(), deadline, "daemon did not log its start")
            time.sleep(0.05)
        # A second daemon on the same root is refused.
        rc, _, err = h.run(["-r", self.root, "-d"])
        self.assertNotEqual(rc, 0)
        self.assertIn("already running", err)
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while os.path.exists(pidfile):
            self.assertLess(time.monotonic(), deadline, "daemon did not stop")
            time.sleep(0.05)
        self.assertIn("shutting down", open(log).read())

class HashPassword(unittest.TestCase):
    def hash(self, stdin, *args):
        p = subprocess.run([h.YUBIND, "--hash-password", *args], input=stdin,
                           capture_output=True, timeout=60)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def test_stored_form_verifies_with_an_independent_implementation(self):
        import base64
        import hashlib
        import hmac
        rc, out, err = self.hash(b"s3cret p\xc3\xa4ss\r\n", "--iterations", "4096")
        self.assertEqual(rc, 0, err)
        self.assertTrue(out.startswith("{SCRAM-SHA-256}4096,"), out)
        it, salt, stored, server = out.strip()[len("{SCRAM-SHA-256}"):].split(",")
        salted = hashlib.pbkdf2_hmac("sha256", "s3cret päss".encode(), base64.b64decode(salt),
                                     int(it))
        client_key = hmac.new(salted, b"Client Key", "sha256").digest()
        self.assertEqual(base64.b64decode(stored), hashlib.sha256(client_key).digest())
        self.assertEqual(base64.b64decode(server),
                         hmac.new(salted, b"Server Key", "sha256").digest())

    def test_default_iterations_and_refusals(self):
        rc, out, _ = self.hash(b"pencil\n")
        self.assertEqual(rc, 0)
        self.assertTrue(out.startswith("{SCRAM-SHA-256}100000,"))
        self.assertEqual(self.hash(b"")[0], 2)
        self.assertEqual(self.hash(b"\n")[0], 2)
        self.assertEqual(self.hash(b"a\x00b\n")[0], 2)
        self.assertEqual(self.hash(b"x" * 1024 + b"\n")[0], 0)
        self.assertEqual(self.hash(b"x" * 1025 + b"\n")[0], 2)
        self.assertEqual(self.hash(b"pencil\n", "--iterations", "10")[0], 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
