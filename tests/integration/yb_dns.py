"""A small authoritative DNS responder for the tests (UDP on 127.0.0.1).

Zone data is a dict {name: {"MX": [(pref, host)], "A": [ip], "AAAA": [ip]}}
(names lower case, without the final dot); a name not in it is NXDOMAIN,
a name without the asked type answers NOERROR with no records (NODATA).
An MX host "." is the null MX of RFC 7505. A name whose node is "SERVFAIL"
is answered with SERVFAIL, "DROP" not at all (a resolver time-out). Names
can be changed while it runs (dns.zone[...] = ...). Every query is counted
in dns.queries."""

import socket
import struct
import threading

TYPES = {1: "A", 15: "MX", 16: "TXT", 28: "AAAA"}


def encode_name(name):
    if name in (".", ""):
        return b"\x00"
    out = b""
    for label in name.rstrip(".").split("."):
        raw = label.encode("ascii")
        out += bytes([len(raw)]) + raw
    return out + b"\x00"


def parse_question(msg):
    pos = 12
    labels = []
    while True:
        n = msg[pos]
        pos += 1
        if n == 0:
            break
        labels.append(msg[pos:pos + n].decode("ascii", "replace"))
        pos += n
    qtype, qclass = struct.unpack("!HH", msg[pos:pos + 4])
    return ".".join(labels).lower(), qtype, pos + 4


class DnsServer:
    def __init__(self, zone=None):
        self.zone = dict(zone or {})
        self.queries = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def _answer(self, msg):
        qid = struct.unpack("!H", msg[:2])[0]
        name, qtype, end = parse_question(msg)
        self.queries.append((name, TYPES.get(qtype, str(qtype))))
        question = msg[12:end]
        node = self.zone.get(name)
        answers = []
        rcode = 0
        if node == "DROP":
            return None
        if node == "SERVFAIL":
            node, rcode = {}, 2
        if node is None:
            rcode = 3
        else:
            kind = TYPES.get(qtype)
            for value in node.get(kind, []) if kind else []:
                if kind == "A":
                    rdata = socket.inet_pton(socket.AF_INET, value)
                elif kind == "AAAA":
                    rdata = socket.inet_pton(socket.AF_INET6, value)
                elif kind == "MX":
                    rdata = struct.pack("!H", value[0]) + encode_name(value[1])
                else:
                    raw = value.encode()
                    rdata = bytes([len(raw)]) + raw
                answers.append(b"\xc0\x0c" + struct.pack("!HHIH", qtype, 1, 60, len(rdata))
                               + rdata)
        flags = 0x8400 | 0x0100 | rcode  # QR, AA, RD copied, rcode
        head = struct.pack("!HHHHHH", qid, flags, 1, len(answers), 0, 0)
        return head + question + b"".join(answers)

    def _serve(self):
        while self.running:
            try:
                msg, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                answer = self._answer(msg)
                if answer is not None:
                    self.sock.sendto(answer, peer)
            except Exception:  # a malformed query gets no answer
                pass

    def close(self):
        self.running = False
        self.thread.join(2)
        self.sock.close()
