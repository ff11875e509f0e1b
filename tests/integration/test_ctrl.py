"""CTRL driven by yubinctl against a real yubind: accounts created over CTRL
log in over SMTP AUTH at once, password changes take effect at once, a
domain administrator stays in its domains, cfgfileset refuses a broken file
and keeps the old one, configuration paths cannot leave the root, TLS with
-L and -S, exit codes, -f sessions, userstat and stats."""

import os
import shutil
import poplib
import smtplib
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import yb_harness as h  # noqa: E402

YUBINCTL = os.environ.get("YUBINCTL", "yubinctl")


def stored_password(pw):
    p = subprocess.run([h.YUBIND, "--hash-password", "--iterations", "4096"],
                       input=pw.encode() + b"\n", capture_output=True, check=True, timeout=30)
    return p.stdout.decode().strip()


def tls_ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class CtrlServer:
    def __init__(self):
        admin = stored_password("root-secret")
        dom = stored_password("dom-secret")
        self.root = h.make_root({
            "server.tab": '"RootDomain"\t"example.test"\n"ConfigCheckInterval"\t"1s"\n'
                          '"CtrlHashIterations"\t"4096"\n"CtrlMaxLoginFailures"\t"1000"\n'
                          '"Pop3Listen"\t""\n"ImapListen"\t""\n"ImapsListen"\t""\n',
            "ctrlaccounts.tab": '"root"\t"%s"\t"admin"\n'
                                '"dom"\t"%s"\t"domain"\t"one.test"\n' % (admin, dom),
        })
        self.srv = h.Server(self.root)
        self.srv.wait_for(lambda: "started on" in self.srv.log("yubind"), what="start-up")
        self.ports = {}
        with open(os.path.join(self.root, "run", "ports.tab")) as f:
            for line in f:
                if not line.startswith("#"):
                    svc, _, port = [x.strip('"') for x in line.rstrip("\n").split("\t")]
                    self.ports[svc] = int(port)

    def ctl(self, *args, user="root", password="root-secret", port=None, flags=(), stdin=None,
            env=None):
        """Runs yubinctl; returns (exit status, stdout, stderr)."""
        cmd = [YUBINCTL, "-s", "127.0.0.1", "-n", str(port or self.ports["CtrlListen"]),
               "-t", "20", *flags]
        if user is not None:
            cmd += ["-u", user]
        if password is not None:
            cmd += ["-p", password]
        p = subprocess.run(cmd + list(args), input=stdin, capture_output=True, timeout=60,
                           env=env)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def ok(self, *args, **kw):
        rc, out, err = self.ctl(*args, **kw)
        if rc != 0:
            raise AssertionError(f"yubinctl {args}: exit {rc}: {err}")
        return out

    def submission_login(self, user, password):
        """AUTH over STARTTLS on the submission port; True when accepted."""
        c = smtplib.SMTP("127.0.0.1", self.ports["SubmissionListen"], timeout=20)
        try:
            c.ehlo("client.test")
            c.starttls(context=tls_ctx())
            c.ehlo("client.test")
            try:
                c.login(user, password)
                return True
            except smtplib.SMTPAuthenticationError:
                return False
        finally:
            c.close()

    def pop3_messages(self, user, password):
        """Logs in over POP3S; the message count, or None when the login is refused."""
        c = poplib.POP3_SSL("127.0.0.1", self.ports["Pop3sListen"], timeout=20, context=tls_ctx())
        try:
            c.user(user)
            try:
                c.pass_(password)
            except poplib.error_proto:
                return None
            return c.stat()[0]
        finally:
            c.quit()

    def stop(self):
        try:
            return self.srv.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


class Ctrl(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = CtrlServer()
        cls.s.ok("domainadd", "one.test")
        cls.s.ok("domainadd", "two.test")

    @classmethod
    def tearDownClass(cls):
        cls.s.stop()

    def test_account_created_over_ctrl_logs_in_over_smtp_at_once(self):
        self.s.ok("useradd", "one.test", "carol", "carol-pw-1", "U")
        self.assertTrue(self.s.submission_login("carol@one.test", "carol-pw-1"))
        out = self.s.ok("userlist", "one.test")
        self.assertIn("one.test\tcarol\t", out)
        self.assertNotIn("SCRAM", out)  # never a hash
        self.assertNotIn("carol-pw-1", out)
        # the Maildir exists, and a message to the new account lands in it
        with smtplib.SMTP("127.0.0.1", self.s.ports["SmtpListen"], timeout=20) as c:
            c.sendmail("x@remote.test", ["carol@one.test"], b"Subject: hi\r\n\r\nhello\r\n")
        new = os.path.join(self.s.root, "domains", "one.test", "carol", "Maildir", "new")
        self.assertEqual(len(os.listdir(new)), 1)
        self.assertEqual(self.s.pop3_messages("carol@one.test", "carol-pw-1"), 1)
        stat = dict(line.split("\t") for line in
                    self.s.ok("userstat", "one.test", "carol").splitlines())
        self.assertEqual(stat["messages"], "1")
        self.assertGreater(int(stat["bytes"]), 0)
        self.assertGreater(int(stat["lastlogin"]), int(time.time()) - 120)  # the AUTH above
        # the log names the administrator, never the password
        ctrl_log = self.s.srv.log("ctrl")
        self.assertIn("root: useradd carol@one.test", ctrl_log)
        self.assertNotIn("carol-pw-1", ctrl_log)

    def test_password_change_takes_effect_at_once(self):
        self.s.ok("useradd", "one.test", "dave", "old-password")
        self.assertTrue(self.s.submission_login("dave@one.test", "old-password"))
        self.s.ok("userpasswd", "one.test", "dave", "new-password")
        self.assertTrue(self.s.submission_login("dave@one.test", "new-password"))
        self.assertFalse(self.s.submission_login("dave@one.test", "old-password"))
        self.assertEqual(self.s.pop3_messages("dave@one.test", "new-password"), 0)
        self.assertIsNone(self.s.pop3_messages("dave@one.test", "old-password"))
        # a stored form is accepted as it is
        self.s.ok("userpasswd", "one.test", "dave", stored_password("hashed-pw"))
        self.assertTrue(self.s.submission_login("dave@one.test", "hashed-pw"))
        rc, _, err = self.s.ctl("userpasswd", "one.test", "nobody", "x")
        self.assertEqual(rc, 12, err)

    def test_domain_administrator_stays_in_its_domains(self):
        d = dict(user="dom", password="dom-secret")
        self.s.ok("useradd", "one.test", "erin", "erin-pw", **d)
        for args in (("useradd", "two.test", "mallory", "pw"),
                     ("userlist", "two.test"),
                     ("aliasadd", "two.test", "info", "someone"),
                     ("cfgfileget", "ctrlaccounts.tab"),
                     ("cfgfileget", "mailusers.tab"),
                     ("domaindel", "one.test"),
                     ("ctrladd", "evil", "pw", "admin")):
            rc, out, err = self.s.ctl(*args, **d)
            self.assertEqual(rc, 5, f"{args}: {err}")
            self.assertEqual(out, "")
        self.assertEqual(self.s.ok("domainlist", **d), "one.test\n")
        self.assertNotIn("two.test", self.s.ok("userlist", **d))

    def test_cfgfileset_broken_file_refused_old_file_stays(self):
        path = os.path.join(self.s.root, "aliases.tab")
        self.s.ok("aliasadd", "one.test", "info", "carol")
        with open(path, "rb") as f:
            before = f.read()
        rc, _, err = self.s.ctl("cfgfileset", "aliases.tab",
                                stdin=b'"one.test"\t"x"\n"unterminated\n')
        self.assertEqual(rc, 18, err)
        self.assertIn("aliases.tab:2", err)
        with open(path, "rb") as f:
            self.assertEqual(f.read(), before)
        # a good one replaces it; cfgfileget reads it back, dot lines included
        good = '"one.test"\t"sales"\t"carol"\n# .dot comment\n'
        self.s.ok("cfgfileset", "aliases.tab", stdin=good.encode())
        self.assertEqual(self.s.ok("cfgfileget", "aliases.tab"), good)

    def test_relay_passwords_never_leave_the_server(self):
        """cfgfileget shows smarthost passwords as "*"; a "*" sent back keeps them."""
        path = os.path.join(self.s.root, "smarthosts.tab")
        self.s.ok("cfgfileset", "smarthosts.tab",
                  stdin=b'"*"\t"relay.test:587"\t"encrypt"\t"me"\t"s3cret-relay"\n')
        got = self.s.ok("cfgfileget", "smarthosts.tab")
        self.assertEqual(got, '"*"\t"relay.test:587"\t"encrypt"\t"me"\t"*"\n')
        self.assertNotIn("s3cret", got)
        # Sent back with one more record: the password on file stays.
        self.s.ok("cfgfileset", "smarthosts.tab",
                  stdin=(got + '"two.test"\t""\t"verify"\t""\t""\n').encode())
        with open(path, encoding="utf-8") as f:
            text = f.read()
        self.assertIn('"me"\t"s3cret-relay"', text)
        self.assertIn('"two.test"', text)
        # "*" for a relay with no password on file is refused; the file stays.
        rc, _, err = self.s.ctl("cfgfileset", "smarthosts.tab",
                                stdin=b'"*"\t"other.test"\t"encrypt"\t"me"\t"*"\n')
        self.assertEqual(rc, 22, err)
        with open(path, encoding="utf-8") as f:
            self.assertEqual(f.read(), text)
        self.assertNotIn("s3cret", self.s.srv.log("ctrl"))

    def test_paths_outside_the_root_refused(self):
        for name in ("../server.tab", "/etc/passwd", "C:\\x.tab", "C:x.tab", "tls/key.pem",
                     "..\\..\\x.tab", "domains/one.test/user.tab"):
            rc, out, err = self.s.ctl("cfgfileget", name)
            self.assertEqual(rc, 17, f"{name}: {err}")
            rc, _, err = self.s.ctl("cfgfileset", name, stdin=b"")
            self.assertEqual(rc, 17, f"{name}: {err}")

    def test_tls_implicit_and_upgrade(self):
        out = self.s.ok("domainlist", port=self.s.ports["CtrlsListen"], flags=["-L"])
        self.assertIn("one.test", out)
        out = self.s.ok("domainlist", flags=["-S"])
        self.assertIn("one.test", out)
        log = self.s.srv.log("ctrl")
        self.assertIn("logged in (admin) over TLS", log)
        # -L against the plaintext port fails cleanly
        rc, _, err = self.s.ctl("noop", flags=["-L"])
        self.assertEqual(rc, 90, err)

    def test_exit_codes_and_password_sources(self):
        rc, _, err = self.s.ctl("noop", password="wrong")
        self.assertEqual(rc, 4, err)
        rc, _, err = self.s.ctl("frobnicate")
        self.assertEqual(rc, 2, err)
        rc, out, err = self.s.ctl("queuelist")
        self.assertEqual(rc, 0, err)  # an empty queue: an empty list
        self.assertEqual(out, "")
        rc, _, err = self.s.ctl("frozgetmsg", "NoSuchId1")
        self.assertEqual(rc, 32, err)  # message not found
        rc, _, err = self.s.ctl("noop", password=None)
        self.assertEqual(rc, 92, err)
        rc, _, err = self.s.ctl("noop", port=1)
        self.assertEqual(rc, 90, err)
        env = dict(os.environ, YUBINCTL_PASSWORD="root-secret")
        self.assertEqual(self.s.ctl("noop", password=None, env=env)[0], 0)
        with tempfile.NamedTemporaryFile("w", delete=False) as f:
            f.write("root-secret\n")
        try:
            self.assertEqual(self.s.ctl("noop", password=None, flags=["-P", f.name])[0], 0)
        finally:
            os.unlink(f.name)
        self.assertIn("yubin ", self.s.ok("version"))

    def test_f_runs_many_commands_in_one_session(self):
        before = self.s.srv.log("ctrl").count("root logged in")
        lines = ["# batch", "domainadd\tbatch.test"]
        lines += ["useradd\tbatch.test\tu%d\tpw%d" % (i, i) for i in range(200)]
        lines += ["useradd\tbatch.test\tu7\tagain", "userlist\tbatch.test"]
        rc, out, err = self.s.ctl("-f", "-", stdin=("\n".join(lines) + "\n").encode())
        self.assertEqual(rc, 13, err)  # the first error: u7 exists
        self.assertIn("line 203: useradd: -00013", err)
        self.assertEqual(len([x for x in out.splitlines() if x.startswith("batch.test\t")]), 200)
        self.assertEqual(self.s.srv.log("ctrl").count("root logged in"), before + 1)
        self.assertTrue(self.s.submission_login("u199@batch.test", "pw199"))

    def test_domaindel_refuses_accounts_unless_purge_and_moves_aside(self):
        self.s.ok("domainadd", "gone.test")
        self.s.ok("useradd", "gone.test", "frank", "pw")
        maildir = os.path.join(self.s.root, "domains", "gone.test", "frank", "Maildir")
        self.assertFalse(os.path.exists(maildir))  # made by the first delivery, not useradd
        with smtplib.SMTP("127.0.0.1", self.s.ports["SmtpListen"], timeout=20) as c:
            c.sendmail("x@remote.test", ["frank@gone.test"], b"Subject: f\r\n\r\nx\r\n")
        self.assertEqual(len(os.listdir(os.path.join(maildir, "new"))), 1)
        rc, _, err = self.s.ctl("domaindel", "gone.test")
        self.assertEqual(rc, 16, err)
        self.s.ok("domaindel", "gone.test", "purge")
        self.assertNotIn("gone.test", self.s.ok("domainlist"))
        self.assertFalse(os.path.exists(os.path.join(self.s.root, "domains", "gone.test")))
        aside = [d for d in os.listdir(os.path.join(self.s.root, "deleted"))
                 if d.startswith("gone.test.")]
        self.assertEqual(len(aside), 1)
        self.assertTrue(os.path.isdir(os.path.join(self.s.root, "deleted", aside[0], "frank",
                                                   "Maildir")))
        self.assertFalse(self.s.submission_login("frank@gone.test", "pw"))

    def test_stats_count_connections_and_accepted_messages(self):
        def stats():
            out = {}
            for line in self.s.ok("stats").splitlines():
                scope, name, value = line.split("\t")
                out[(scope, name)] = int(value)
            return out
        s1 = stats()
        with smtplib.SMTP("127.0.0.1", self.s.ports["SmtpListen"], timeout=20) as c:
            c.sendmail("x@remote.test", ["carol@one.test"], b"Subject: s\r\n\r\nx\r\n")
        s2 = stats()
        self.assertEqual(s2[("server", "accepted")], s1[("server", "accepted")] + 1)
        self.assertEqual(s2[("SmtpListen", "accepted")], s1.get(("SmtpListen", "accepted"), 0) + 1)
        self.assertEqual(s2[("CtrlListen", "connections")],
                         s1[("CtrlListen", "connections")] + 1)

    def test_aliases_and_alias_domains(self):
        self.s.ok("useradd", "two.test", "gina", "pw")
        self.s.ok("aliasadd", "two.test", "help", "gina")
        rc, _, err = self.s.ctl("aliasadd", "two.test", "help", "gina")
        self.assertEqual(rc, 15, err)
        self.assertIn("two.test\thelp\tgina", self.s.ok("aliaslist", "two.test"))
        self.s.ok("aliasdomainadd", "two.test", "deux.test")
        self.assertIn("two.test\tdeux.test", self.s.ok("aliasdomainlist"))
        with smtplib.SMTP("127.0.0.1", self.s.ports["SmtpListen"], timeout=20) as c:
            c.sendmail("x@remote.test", ["help@deux.test"], b"Subject: a\r\n\r\nx\r\n")
        new = os.path.join(self.s.root, "domains", "two.test", "gina", "Maildir", "new")
        self.assertEqual(len(os.listdir(new)), 1)
        self.assertEqual(self.s.pop3_messages("carol@one.test", "carol-pw-1"), 1)
        self.s.ok("aliasdel", "two.test", "help")
        self.s.ok("aliasdomaindel", "deux.test")
        rc, _, err = self.s.ctl("aliasdel", "two.test", "help")
        self.assertEqual(rc, 14, err)
        self.assertNotIn("deux.test", self.s.ok("aliasdomainlist"))

    def test_field_with_control_character_refused_by_the_client(self):
        rc, _, err = self.s.ctl("useradd", "one.test", "x\ty", "pw")
        self.assertEqual(rc, 9, err)
        rc, _, err = self.s.ctl("useradd", "one.test", "bad name", "pw")
        self.assertEqual(rc, 8, err)


class Journal(unittest.TestCase):
    """Account changes go to mailusers.journal; a restart, another reader and
    cfgfileget all see the same accounts."""

    def test_journal_survives_restart_and_folds_on_cfgfileget(self):
        s = CtrlServer()
        try:
            s.ok("domainadd", "j.test")
            lines = ["useradd\tj.test\tuser%d\tpw%d" % (i, i) for i in range(50)]
            lines += ["userdel\tj.test\tuser3", "userpasswd\tj.test\tuser4\tnew4"]
            rc, _, err = s.ctl("-f", "-", stdin=("\n".join(lines) + "\n").encode())
            self.assertEqual(rc, 0, err)
            journal = os.path.join(s.root, "mailusers.journal")
            self.assertTrue(os.path.exists(journal))
            with open(journal) as f:
                text = f.read()
            self.assertTrue(text.startswith("# yubin mailusers.journal "))
            self.assertEqual(text.count('\n"+"\t'), 51)  # 50 adds and one password change
            # a second server on the same root reads the same accounts
            s.srv.stop()
            s.srv = h.Server(s.root)
            s.srv.wait_for(lambda: s.srv.log("yubind").count("started on") == 2, what="restart")
            with open(os.path.join(s.root, "run", "ports.tab")) as f:
                for line in f:
                    if not line.startswith("#"):
                        svc, _, port = [x.strip('"') for x in line.rstrip("\n").split("\t")]
                        s.ports[svc] = int(port)
            users = [l.split("\t")[1] for l in s.ok("userlist", "j.test").splitlines()]
            self.assertEqual(len(users), 49)
            self.assertNotIn("user3", users)
            self.assertTrue(s.submission_login("user4@j.test", "new4"))
            self.assertFalse(s.submission_login("user4@j.test", "pw4"))
            self.assertFalse(s.submission_login("user3@j.test", "pw3"))
            # cfgfileget folds the journal in: the file is whole, the journal gone
            out = s.ok("cfgfileget", "mailusers.tab")
            self.assertEqual(out.count('"j.test"'), 49)
            self.assertFalse(os.path.exists(journal))
            self.assertTrue(s.submission_login("user4@j.test", "new4"))
            self.assertEqual(len(s.ok("userlist", "j.test").splitlines()), 49)
            # ids stay unique after the fold
            s.ok("useradd", "j.test", "late", "pw")
            ids = [l.split("\t")[2] for l in s.ok("userlist").splitlines()]
            self.assertEqual(len(ids), len(set(ids)))
        finally:
            s.stop()


class SharedRoot(unittest.TestCase):
    """Two yubind processes on one root: changes made through both at the same
    time all land (the file lock), with unique ids, and each sees the other's."""

    def test_two_servers_one_root(self):
        s = CtrlServer()
        try:
            s.ok("domainadd", "shared.test")
            ports_a = dict(s.ports)
            second = h.Server(s.root)
            try:
                # the second server rewrites run/ports.tab when it has bound
                second.wait_for(lambda: second.log("yubind").count("started on") == 2,
                                what="second start-up")
                s2 = CtrlServer.__new__(CtrlServer)
                s2.root, s2.srv, s2.ports = s.root, second, {}
                with open(os.path.join(s.root, "run", "ports.tab")) as f:
                    for line in f:
                        if not line.startswith("#"):
                            svc, _, port = [x.strip('"') for x in line.rstrip("\n").split("\t")]
                            s2.ports[svc] = int(port)
                self.assertNotEqual(s2.ports["CtrlListen"], ports_a["CtrlListen"])
                procs = []
                for tag, port in (("a", ports_a["CtrlListen"]), ("b", s2.ports["CtrlListen"])):
                    cmds = "".join("useradd\tshared.test\t%s%d\tpw\n" % (tag, i)
                                   for i in range(300))
                    procs.append(subprocess.Popen(
                        [YUBINCTL, "-s", "127.0.0.1", "-n", str(port), "-u", "root", "-p",
                         "root-secret", "-t", "60", "-f", "-"], stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE))
                    procs[-1].stdin.write(cmds.encode())
                    procs[-1].stdin.close()
                    procs[-1].stdin = None  # communicate() below must not flush it again
                for p in procs:
                    _, err = p.communicate(timeout=120)
                    self.assertEqual(p.returncode, 0, err.decode())
                for port in (ports_a["CtrlListen"], s2.ports["CtrlListen"]):
                    # A server sees its own changes at once and the other's by its
                    # next check (ConfigCheckInterval is 1 s here) or its next change.
                    deadline = time.monotonic() + 10
                    while True:
                        out = s.ok("userlist", "shared.test", port=port)
                        rows = [l.split("\t") for l in out.splitlines()]
                        if len(rows) == 600 or time.monotonic() > deadline:
                            break
                        time.sleep(0.2)
                    self.assertEqual(len(rows), 600)
                    self.assertEqual(len({r[2] for r in rows}), 600)  # ids unique
                self.assertTrue(s2.submission_login("a17@shared.test", "pw"))
                self.assertTrue(s.submission_login("b42@shared.test", "pw"))
            finally:
                second.stop()
        finally:
            s.stop()


if __name__ == "__main__":
    unittest.main()
