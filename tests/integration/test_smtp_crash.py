"""Crash durability of the SMTP server (DESIGN.md section 5): a load of
concurrent deliveries - local recipients over SMTP with DATA and BDAT,
remote (and mixed) recipients through authenticated submission - while
yubind is killed with SIGKILL at a random moment, several rounds in a row on
the same root. After every kill, on disk:

  * every message that got 250 is in exactly one file in each Maildir it was
    addressed to, in no other Maildir, and (remote recipients) in exactly one
    spool/queue envelope with its spool/msg file;
  * no file in any new/ is partial: each ends with the whole message as sent,
    and its size is the S= of its name; nothing in queue/ lacks its msg/;
  * nothing unknown is visible, nothing is there twice.

Messages without a 250 may or may not be there (counted, not an error);
leftovers in tmp/ are allowed and counted. yubind is restarted after each
kill and must start cleanly without changing what is visible.

YB_CRASH_SEED reproduces a run; YB_CRASH_ROUNDS changes the number of rounds."""

import os
import random
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import yb_harness as h  # noqa: E402

DOMAIN = "example.test"
USERS = ("alice", "bob", "carol")
ROUNDS = int(os.environ.get("YB_CRASH_ROUNDS", "10"))
KILL_MIN_MS, KILL_MAX_MS = 50, 800
CLIENT_TIMEOUT = 10.0
TEST_DEADLINE = 100.0  # seconds for the whole test

MARKER_RE = re.compile(rb"YBCRASH-[0-9a-z-]+")


stored_password = h.stored_password
tls_ctx = h.tls_ctx


class Msg:
    """One message the load tried to deliver."""

    def __init__(self, marker, data, local, remote):
        self.marker = marker
        self.data = data            # the bytes after the server's trace headers
        self.local = frozenset(local)  # users whose Maildir must hold it
        self.remote = remote        # True: one spool/queue entry expected
        self.state = "unsent"       # unsent | sent (no reply seen) | acked | refused
        self.reply = None


class Ledger:
    def __init__(self):
        self.lock = threading.Lock()
        self.msgs = {}

    def add(self, m):
        with self.lock:
            self.msgs[m.marker] = m

    def all(self):
        with self.lock:
            return list(self.msgs.values())


def make_message(rng, marker, rcpts):
    """A message whose Message-ID and body carry the marker; sizes from a
    few hundred bytes to past the stores' 64 KiB write buffers."""
    size = rng.choice((200, 1500, 9000, 70000, 150000))
    lines = [b"From: sender@remote.test", b"To: " + ", ".join(rcpts).encode(),
             b"Subject: crash load " + marker.encode(),
             b"Message-ID: <" + marker.encode() + b"@client.test>", b"", b"marker " + marker.encode()]
    filler = ("%s line %%d " % marker).encode()
    n = 0
    total = sum(len(x) + 2 for x in lines)
    while total < size:
        line = filler % n + b"x" * 40
        lines.append(line)
        total += len(line) + 2
        n += 1
    lines.append(b"end " + marker.encode())
    return b"\r\n".join(lines) + b"\r\n"


class Yubind(h.Server):
    """h.Server with a stderr file per start (the root is reused)."""

    def __init__(self, root, n):
        self.root = root
        self.errpath = os.path.join(root, "stderr-%d.txt" % n)
        self.errfile = open(self.errpath, "w")
        self.proc = subprocess.Popen([h.YUBIND, "-r", root],
                                     stdout=subprocess.DEVNULL, stderr=self.errfile)
        tag = "(pid %d)" % self.proc.pid
        self.wait_for(lambda: tag in self.log("yubind"), what="start-up of pid %d" % self.proc.pid)
        self.ports = {}
        with open(os.path.join(root, "run", "ports.tab")) as f:
            for line in f:
                if not line.startswith("#") and line.strip():
                    svc, _, port = [x.strip('"') for x in line.rstrip("\n").split("\t")]
                    self.ports[svc] = int(port)

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.errfile.close()


class Load:
    """~8 client threads sending until stopped; every message is recorded
    in the ledger with what the server answered to its DATA/last BDAT."""

    def __init__(self, srv, ledger, rng, rnd_no):
        self.srv = srv
        self.ledger = ledger
        self.stop = threading.Event()
        self.errors = []
        self.rnd = rnd_no
        kinds = ["mx-data"] * 5 + ["mx-bdat"] + ["submission"] * 2
        self.threads = [threading.Thread(target=self.run, args=(k, i, random.Random(rng.random())),
                                         daemon=True) for i, k in enumerate(kinds)]

    def start(self):
        for t in self.threads:
            t.start()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(CLIENT_TIMEOUT + 5)
            if t.is_alive():
                self.errors.append("a client thread did not finish")

    def run(self, kind, tno, rng):
        seq = 0
        while not self.stop.is_set():
            try:
                if kind == "submission":
                    conn = smtplib.SMTP("127.0.0.1", self.srv.ports["SubmissionListen"],
                                        timeout=CLIENT_TIMEOUT)
                    conn.ehlo("client.test")
                    conn.starttls(context=tls_ctx())
                    conn.ehlo("client.test")
                    conn.login("alice@" + DOMAIN, "alice-secret")
                elif kind == "mx-data":
                    conn = smtplib.SMTP("127.0.0.1", self.srv.ports["SmtpListen"],
                                        timeout=CLIENT_TIMEOUT)
                    conn.ehlo("client.test")
                else:
                    conn = None
            except (OSError, smtplib.SMTPException):
                time.sleep(0.02)  # the server is gone (or not yet listening)
                continue
            try:
                # A few messages per connection, RSET-free: each transaction ends with a reply.
                for _ in range(rng.randint(1, 4)):
                    if self.stop.is_set():
                        break
                    seq += 1
                    marker = "YBCRASH-r%d-t%d-n%d-%08x" % (self.rnd, tno, seq, rng.getrandbits(32))
                    if kind == "submission":
                        self.one_submission(conn, rng, marker)
                    elif kind == "mx-data":
                        self.one_mx(conn, rng, marker)
                    else:
                        self.one_bdat(rng, marker)
            except (OSError, smtplib.SMTPException, EOFError):
                pass  # killed mid-transaction: the message stays "sent" or "unsent"
            except Exception as e:  # noqa: BLE001 - reported by the test
                self.errors.append("%s: %r" % (kind, e))
            finally:
                if conn is not None:
                    try:
                        conn.close()
                    except OSError:
                        pass

    def local_rcpts(self, rng):
        """Addresses and the users whose Maildirs they reach."""
        choice = rng.randrange(5)
        if choice == 0:
            return ["team@" + DOMAIN], {"alice", "bob"}  # an alias to two mailboxes
        if choice == 1:
            return ["alice@" + DOMAIN, "carol@" + DOMAIN, "info@" + DOMAIN], {"alice", "carol"}
        u = rng.choice(USERS)
        return [u + "@" + DOMAIN], {u}

    def transaction(self, conn, m, rcpts):
        code, resp = conn.mail("sender@remote.test" if not m.remote else "alice@" + DOMAIN)
        if code != 250:
            raise AssertionError("MAIL refused: %d %r" % (code, resp))
        for r in rcpts:
            code, resp = conn.rcpt(r)
            if code != 250:
                raise AssertionError("RCPT %s refused: %d %r" % (r, code, resp))
        self.ledger.add(m)
        m.state = "sent"
        code, resp = conn.data(m.data)
        m.reply = (code, resp)
        m.state = "acked" if code == 250 else "refused"

    def one_mx(self, conn, rng, marker):
        rcpts, users = self.local_rcpts(rng)
        m = Msg(marker, make_message(rng, marker, rcpts), users, False)
        self.transaction(conn, m, rcpts)

    def one_submission(self, conn, rng, marker):
        if rng.random() < 0.5:
            rcpts, users = ["friend@elsewhere.test"], set()
        else:
            rcpts, users = ["friend@elsewhere.test", "bob@" + DOMAIN], {"bob"}
        m = Msg(marker, make_message(rng, marker, rcpts), users, True)
        self.transaction(conn, m, rcpts)

    def one_bdat(self, rng, marker):
        """Raw socket, the body in several BDAT chunks, the last with LAST."""
        rcpts, users = self.local_rcpts(rng)
        m = Msg(marker, make_message(rng, marker, rcpts), users, False)
        s = socket.create_connection(("127.0.0.1", self.srv.ports["SmtpListen"]),
                                     timeout=CLIENT_TIMEOUT)
        f = s.makefile("rb")
        try:
            def reply():
                while True:
                    line = f.readline()
                    if not line:
                        raise EOFError("connection closed")
                    if line[3:4] != b"-":
                        return int(line[:3]), line

            if reply()[0] != 220:
                raise AssertionError("no greeting")
            s.sendall(b"EHLO client.test\r\n")
            reply()
            s.sendall(b"MAIL FROM:<sender@remote.test>\r\n")
            code, line = reply()
            if code != 250:
                raise AssertionError("MAIL refused: %r" % line)
            for r in rcpts:
                s.sendall(b"RCPT TO:<" + r.encode() + b">\r\n")
                code, line = reply()
                if code != 250:
                    raise AssertionError("RCPT refused: %r" % line)
            self.ledger.add(m)
            m.state = "sent"
            data, pos = m.data, 0
            while True:
                n = rng.randint(1, max(1, len(data) // 2))
                chunk = data[pos:pos + n]
                pos += len(chunk)
                last = pos >= len(data)
                s.sendall(b"BDAT %d%s\r\n" % (len(chunk), b" LAST" if last else b"") + chunk)
                code, line = reply()
                if last:
                    m.reply = (code, line)
                    m.state = "acked" if code == 250 else "refused"
                    break
                if code != 250:
                    raise AssertionError("BDAT chunk refused: %r" % line)
        finally:
            f.close()
            s.close()


class Disk:
    """What a reader of the root sees, checked against the ledger."""

    def __init__(self, root):
        self.root = root

    def maildir(self, user):
        return os.path.join(self.root, "domains", DOMAIN, user, "Maildir")

    def listdir(self, *parts):
        p = os.path.join(*parts)
        return sorted(os.listdir(p)) if os.path.isdir(p) else []

    def snapshot(self):
        """Names visible to readers: new/ and cur/ of each Maildir, queue/ and msg/."""
        snap = {}
        for u in USERS:
            for sub in ("new", "cur"):
                snap[(u, sub)] = tuple(self.listdir(self.maildir(u), sub))
        for sub in ("queue", "msg"):
            snap[("spool", sub)] = tuple(self.listdir(self.root, "spool", sub))
        return snap

    def check(self, ledger):
        """Returns (problems, stats)."""
        problems = []
        msgs = {m.marker: m for m in ledger.all()}
        found = {}  # marker -> {user: count}
        queued = {}  # marker -> count
        tmp_left = 0
        for u in USERS:
            md = self.maildir(u)
            tmp_left += len(self.listdir(md, "tmp"))
            for name in self.listdir(md, "cur"):
                problems.append("%s/cur/%s: nobody moves mail to cur/" % (u, name))
            for name in self.listdir(md, "new"):
                path = os.path.join(md, "new", name)
                with open(path, "rb") as f:
                    content = f.read()
                ms = re.search(r",S=(\d+)", name)
                if ms is None:
                    problems.append("%s/new/%s: no S= in the name" % (u, name))
                elif int(ms.group(1)) != len(content):
                    problems.append("%s/new/%s: S=%s but %d bytes on disk (partial file)"
                                    % (u, name, ms.group(1), len(content)))
                mm = MARKER_RE.search(content)
                if mm is None:
                    problems.append("%s/new/%s: no marker (%d bytes, starts %r)"
                                    % (u, name, len(content), content[:120]))
                    continue
                marker = mm.group(0).decode()
                m = msgs.get(marker)
                if m is None:
                    problems.append("%s/new/%s: marker %s never sent" % (u, name, marker))
                    continue
                if not content.endswith(m.data):
                    problems.append("%s/new/%s: %s is partial or altered (%d bytes on disk, "
                                    "message %d bytes, acked=%s)"
                                    % (u, name, marker, len(content), len(m.data),
                                       m.state == "acked"))
                if not content.startswith(b"Return-Path: <"):
                    problems.append("%s/new/%s: %s lacks the trace headers" % (u, name, marker))
                found.setdefault(marker, {}).setdefault(u, 0)
                found[marker][u] += 1
        spool_tmp = len(self.listdir(self.root, "spool", "tmp"))
        queue = self.listdir(self.root, "spool", "queue")
        msgdir = set(self.listdir(self.root, "spool", "msg"))
        for qid in queue:
            if qid not in msgdir:
                problems.append("spool/queue/%s has no spool/msg/%s" % (qid, qid))
                continue
            with open(os.path.join(self.root, "spool", "msg", qid), "rb") as f:
                content = f.read()
            with open(os.path.join(self.root, "spool", "queue", qid), "rb") as f:
                env = f.read()
            mm = MARKER_RE.search(content)
            if mm is None:
                problems.append("spool/msg/%s: no marker (%d bytes)" % (qid, len(content)))
                continue
            marker = mm.group(0).decode()
            m = msgs.get(marker)
            if m is None:
                problems.append("spool/msg/%s: marker %s never sent" % (qid, marker))
                continue
            if not content.endswith(m.data):
                problems.append("spool/msg/%s: %s is partial or altered (%d bytes, message %d)"
                                % (qid, marker, len(content), len(m.data)))
            if b'"rcpt"\t"friend@elsewhere.test"\t"pending"' not in env:
                problems.append("spool/queue/%s: envelope without the remote recipient: %r"
                                % (qid, env[:300]))
            if b"bob@" in env:
                problems.append("spool/queue/%s: a local recipient in the envelope" % qid)
            if not m.remote:
                problems.append("spool/queue/%s: %s had no remote recipient" % (qid, marker))
            queued[marker] = queued.get(marker, 0) + 1
        orphan_msgs = len(msgdir - set(queue))

        stats = {"sent": len(msgs), "acked": 0, "acked_found": 0, "unacked": 0,
                 "delivered_without_ack": 0, "partly_without_ack": 0, "tmp_leftovers": tmp_left,
                 "spool_tmp_leftovers": spool_tmp, "spool_msg_orphans": orphan_msgs,
                 "queued": len(queue), "refused": 0}
        for marker, m in msgs.items():
            where = found.get(marker, {})
            nq = queued.get(marker, 0)
            for u, c in where.items():
                if u not in m.local:
                    problems.append("%s: in %s's Maildir, not addressed there" % (marker, u))
                if c != 1:
                    problems.append("%s: %d copies in %s's Maildir" % (marker, c, u))
            if nq > 1:
                problems.append("%s: queued %d times" % (marker, nq))
            if m.state == "acked":
                stats["acked"] += 1
                missing = sorted(u for u in m.local if where.get(u, 0) == 0)
                if missing:
                    problems.append("%s: got %r but is missing from the Maildir of %s"
                                    % (marker, m.reply, ", ".join(missing)))
                if m.remote and nq != 1:
                    problems.append("%s: got %r but is not in spool/queue" % (marker, m.reply))
                if not missing and (not m.remote or nq == 1):
                    stats["acked_found"] += 1
            else:
                if m.state == "refused":
                    stats["refused"] += 1
                stats["unacked"] += 1
                present = sum(1 for u in m.local if where.get(u)) + (1 if nq else 0)
                expected = len(m.local) + (1 if m.remote else 0)
                if present == expected and present > 0:
                    stats["delivered_without_ack"] += 1
                elif present > 0:
                    stats["partly_without_ack"] += 1
        return problems, stats


class CrashDurability(unittest.TestCase):
    def setUp(self):
        seed = os.environ.get("YB_CRASH_SEED")
        self.seed = int(seed) if seed else random.randrange(1 << 32)
        print("\nYB_CRASH_SEED=%d" % self.seed, file=sys.stderr)
        self.rng = random.Random(self.seed)
        alice = stored_password("alice-secret")
        none = stored_password("not-used-secret")
        self.root = h.make_root({
            "server.tab": '"RootDomain"\t"%s"\n"ConfigCheckInterval"\t"1s"\n'
                          '"SmtpListen"\t"127.0.0.1:0"\n"SubmissionListen"\t"127.0.0.1:0"\n'
                          '"SmtpsListen"\t""\n"Pop3Listen"\t""\n"Pop3sListen"\t""\n'
                          '"ImapListen"\t""\n"ImapsListen"\t""\n"CtrlListen"\t""\n'
                          '"CtrlsListen"\t""\n' % DOMAIN,
            "domains.tab": '"%s"\n' % DOMAIN,
            "mailusers.tab": '"{d}"\t"alice"\t"{a}"\t1\t"alice"\t"U"\n'
                             '"{d}"\t"bob"\t"{n}"\t2\t"bob"\t"U"\n'
                             '"{d}"\t"carol"\t"{n}"\t3\t"carol"\t"U"\n'.format(d=DOMAIN, a=alice,
                                                                              n=none),
            "aliases.tab": '"{d}"\t"info"\t"alice"\n"{d}"\t"team"\t"alice"\n'
                           '"{d}"\t"team"\t"bob"\n'.format(d=DOMAIN),
        })
        self.srv = None

    def tearDown(self):
        if self.srv is not None and self.srv.proc.poll() is None:
            self.srv.proc.kill()
            self.srv.proc.wait()
        # The root stays for a failed run (its path is printed); removed otherwise.
        if not self._outcome_failed():
            shutil.rmtree(self.root, ignore_errors=True)
        else:
            print("root kept at %s" % self.root, file=sys.stderr)

    def _outcome_failed(self):
        outcome = getattr(self, "_outcome", None)
        if outcome is None:
            return False
        errors = getattr(outcome, "errors", None)
        if errors is not None:  # Python < 3.11
            return any(e for _, e in errors)
        result = getattr(outcome, "result", None)
        return bool(result and (result.failures or result.errors))

    def assert_clean_start(self, srv):
        self.assertEqual(srv.proc.poll(), None, "yubind exited after start")
        err = srv.stderr()
        for bad in ("AddressSanitizer", "LeakSanitizer", "runtime error"):
            self.assertNotIn(bad, err, err)

    def test_kill9_during_concurrent_deliveries(self):
        t_start = time.monotonic()
        ledger = Ledger()
        disk = Disk(self.root)
        self.srv = Yubind(self.root, 0)
        self.assert_clean_start(self.srv)
        # A delivery with no kill: the message on disk is trace headers + what was sent.
        probe = Msg("YBCRASH-probe-00000000", None, {"alice"}, False)
        probe.data = make_message(random.Random(1), probe.marker, ["alice@" + DOMAIN])
        with smtplib.SMTP("127.0.0.1", self.srv.ports["SmtpListen"], timeout=20) as c:
            c.ehlo("client.test")
            ledger.add(probe)
            Load(self.srv, ledger, self.rng, 0).transaction(c, probe, ["alice@" + DOMAIN])
        self.assertEqual(probe.state, "acked", probe.reply)
        problems, _ = disk.check(ledger)
        self.assertEqual(problems, [], "\n".join(problems))

        report = []
        all_problems = []
        for rnd in range(1, ROUNDS + 1):
            self.assertLess(time.monotonic() - t_start, TEST_DEADLINE, "test ran out of time")
            delay = self.rng.uniform(KILL_MIN_MS, KILL_MAX_MS) / 1000.0
            before = len(ledger.all())
            load = Load(self.srv, ledger, self.rng, rnd)
            load.start()
            time.sleep(delay)
            errtext = self.srv.stderr()
            self.srv.kill9()  # SIGKILL while the clients are mid-transaction
            load.finish()
            self.assertEqual(load.errors, [], "client errors in round %d" % rnd)
            for bad in ("AddressSanitizer", "runtime error"):
                self.assertNotIn(bad, errtext, errtext)
            problems, stats = disk.check(ledger)
            round_msgs = [m for m in ledger.all() if m.marker.startswith("YBCRASH-r%d-" % rnd)]
            r_acked = sum(1 for m in round_msgs if m.state == "acked")
            report.append("round %2d: kill at %3d ms, %3d transactions reached DATA, %3d acked; "
                          "totals: acked %d (all found: %d), unacked %d of which delivered "
                          "anyway %d (partly %d), tmp/ leftovers %d, spool/tmp %d, "
                          "msg/ without queue/ %d"
                          % (rnd, delay * 1000, len(ledger.all()) - before, r_acked,
                             stats["acked"], stats["acked_found"], stats["unacked"],
                             stats["delivered_without_ack"], stats["partly_without_ack"],
                             stats["tmp_leftovers"], stats["spool_tmp_leftovers"],
                             stats["spool_msg_orphans"]))
            all_problems += ["round %d after kill: %s" % (rnd, p) for p in problems]
            if problems:
                break
            # Restart on the same root: it must start cleanly and change nothing visible
            # (no message delivered or queued twice, nothing taken away).
            snap = disk.snapshot()
            self.srv = Yubind(self.root, rnd)
            self.assert_clean_start(self.srv)
            time.sleep(0.3)
            if disk.snapshot() != snap:
                all_problems.append("round %d: the restart changed what is visible: %r -> %r"
                                    % (rnd, snap, disk.snapshot()))
            problems, _ = disk.check(ledger)
            all_problems += ["round %d after restart: %s" % (rnd, p) for p in problems]
            if all_problems:
                break

        print("\n" + "\n".join(report), file=sys.stderr)
        if all_problems:
            self.fail("durability violated (YB_CRASH_SEED=%d):\n%s"
                      % (self.seed, "\n".join(all_problems[:50])))
        else:
            # A final orderly stop; the root passes the check one last time.
            rc = self.srv.stop()
            self.assertEqual(rc, 0, self.srv.stderr())
            problems, stats = disk.check(ledger)
            self.assertEqual(problems, [], "\n".join(problems))
            print("final: %r (%.1f s)" % (stats, time.monotonic() - t_start), file=sys.stderr)
            self.assertGreater(stats["acked"], 20, "the load hardly delivered anything")


if __name__ == "__main__":
    unittest.main(verbosity=2)
