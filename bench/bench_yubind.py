"""What the benchmarks share: a throwaway yubind on a root of its own with
one domain's accounts and a single listener on 127.0.0.1:0, free ports, and
stopping the servers."""

import os
import signal
import socket
import subprocess
import time

LISTENERS = ("SmtpListen", "SubmissionListen", "SmtpsListen", "Pop3Listen", "Pop3sListen",
             "ImapListen", "ImapsListen", "CtrlListen", "CtrlsListen")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def stop_process(proc, timeout=15):
    """SIGTERM, then SIGKILL if it has not exited within timeout seconds."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start_yubind(binary, root, domain, users, password, listener, extra=""):
    """Writes root's tab files (users of domain, all with password; only
    listener on, on 127.0.0.1:0; extra server.tab lines) and starts yubind.
    Returns (process, its stderr file, the bound port, the stored password)."""
    stored = subprocess.run([binary, "--hash-password", "--iterations", "4096"],
                            input=password.encode() + b"\n", capture_output=True, check=True,
                            timeout=30).stdout.decode().strip()
    tab = "".join('"%s"\t"%s"\n' % (v, "127.0.0.1:0" if v == listener else "")
                  for v in LISTENERS)
    write(os.path.join(root, "server.tab"), '"RootDomain"\t"%s"\n' % domain + tab + extra)
    write(os.path.join(root, "domains.tab"), '"%s"\n' % domain)
    write(os.path.join(root, "mailusers.tab"),
          "".join('"%s"\t"%s"\t"%s"\t%d\t"%s"\t"U"\n' % (domain, u, stored, i + 1, u)
                  for i, u in enumerate(users)))
    err = open(os.path.join(root, "stderr.txt"), "w")
    proc = subprocess.Popen([binary, "-r", root], stdout=subprocess.DEVNULL, stderr=err)
    ports = os.path.join(root, "run", "ports.tab")
    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            raise RuntimeError("yubind exited (%d) during start-up" % proc.returncode)
        if time.monotonic() > deadline:
            raise RuntimeError("yubind wrote no %s within 30 s" % ports)
        try:
            with open(ports) as f:
                for line in f:
                    fields = [x.strip('"') for x in line.rstrip("\n").split("\t")]
                    if len(fields) == 3 and fields[0] == listener:
                        return proc, err, int(fields[2]), stored
        except FileNotFoundError:
            pass
        time.sleep(0.05)


def wait_greeting(port, greeting, proc=None, what="server", timeout=30.0):
    """Waits until 127.0.0.1:port answers with a line starting with greeting
    (b"220", b"+OK"), then says QUIT."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("%s exited (%d) during start-up" % (what, proc.returncode))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                if s.recv(512).startswith(greeting):
                    s.sendall(b"QUIT\r\n")
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("%s did not greet on port %d within %.0f s" % (what, port, timeout))
