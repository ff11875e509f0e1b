"""yubind's command line and life cycle: configuration errors with their
position, external edits picked up without a restart, a bad edit keeping the
old configuration, SIGHUP reload and SIGTERM shutdown."""

import os
import shutil
import signal
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
        srv.wait_for(lambda: "configuration reloaded (generation 2, 3 records)" in srv.log("config"),
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
        srv.wait_for(lambda: "generation 3, 2 records" in srv.log("config"), what="fixed edit")

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

if __name__ == "__main__":
    unittest.main(verbosity=2)
