"""Receiving SMTP servers on 127.0.0.x for the queue tests, built on
aiosmtpd (Debian's python3-aiosmtpd). Each records its connections and the
transactions it accepted; a `rcpt_reply` callback can refuse or defer
recipients, and `data_reply` the message, to play a remote that says 4xx
or 5xx. STARTTLS is offered when a certificate is given."""

import asyncio
import socket
import sys
import threading

try:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import SMTP
except ImportError:
    # A Python outside Debian's (pyenv...) does not see Debian's packages.
    sys.path.append("/usr/lib/python3/dist-packages")
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import SMTP


class Handler:
    def __init__(self, owner):
        self.owner = owner

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.owner.rcpt_reply(address) if self.owner.rcpt_reply else None
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.append(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.owner.delay:
            await asyncio.sleep(self.owner.delay)
        reply = self.owner.data_reply(envelope) if self.owner.data_reply else None
        if reply:
            return reply
        with self.owner.lock:
            self.owner.messages.append({
                "peer": session.peer, "conn": id(session), "from": envelope.mail_from,
                "mail_options": list(envelope.mail_options),
                "rcpts": list(envelope.rcpt_tos), "rcpt_options": list(envelope.rcpt_options),
                "data": envelope.original_content, "tls": session.ssl is not None,
            })
        return "250 2.0.0 OK queued"


class CountingSMTP(SMTP):
    def __init__(self, owner, *args, **kw):
        super().__init__(*args, **kw)
        self.owner = owner

    def connection_made(self, transport):
        with self.owner.lock:
            self.owner.connections += 1
            self.owner.open_now += 1
            self.owner.most_open = max(self.owner.most_open, self.owner.open_now)
        super().connection_made(transport)

    def connection_lost(self, error):
        with self.owner.lock:
            self.owner.open_now -= 1
        super().connection_lost(error)


def free_port(host):
    """A port free on host now (aiosmtpd cannot bind port 0 itself)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class Receiver:
    def __init__(self, host, port=0, tls_context=None, require_tls=False):
        self.lock = threading.Lock()
        self.messages = []
        self.connections = 0
        self.open_now = 0    # connections open at this moment
        self.most_open = 0   # the most open at once
        self.rcpt_reply = None
        self.data_reply = None
        self.delay = 0.0  # seconds before answering the data
        handler = Handler(self)
        owner = self

        class C(Controller):
            def factory(self):
                return CountingSMTP(owner, self.handler, tls_context=tls_context,
                                    require_starttls=require_tls, decode_data=False,
                                    enable_SMTPUTF8=True, hostname="rx.test")

        if port == 0:
            port = free_port(host)
        self.controller = C(handler, hostname=host, port=port, ready_timeout=10)
        self.controller.start()
        self.host = host
        self.port = self.controller.server.sockets[0].getsockname()[1]

    def stop(self):
        self.controller.stop()
