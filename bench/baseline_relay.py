"""The thinnest aiosmtpd relay (one aiosmtplib connection per message): the benchmark's point of comparison."""
from __future__ import annotations

import argparse
import asyncio
import signal
import sys

import aiosmtplib
from aiosmtpd.smtp import SMTP, Envelope, Session


class ForwardEachMessage:
    """Relays every message over a fresh upstream connection; 451 when the upstream fails."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert envelope.mail_from is not None and isinstance(envelope.original_content, bytes)
        try:
            await aiosmtplib.send(envelope.original_content, sender=envelope.mail_from,
                                  recipients=envelope.rcpt_tos, hostname=self.host, port=self.port,
                                  start_tls=False, timeout=30)
        except aiosmtplib.SMTPException as error:
            return f"451 4.4.1 upstream failed: {type(error).__name__}"
        return "250 2.0.0 OK"


async def main(listen: str, upstream: str) -> int:
    listen_host, _, listen_port = listen.rpartition(":")
    upstream_host, _, upstream_port = upstream.rpartition(":")
    handler = ForwardEachMessage(upstream_host, int(upstream_port))
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="baseline.localdomain", enable_SMTPUTF8=True, loop=loop),
        host=listen_host, port=int(listen_port))
    port = server.sockets[0].getsockname()[1]
    print(f"listening on {listen_host}:{port}", file=sys.stderr, flush=True)
    stopping = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    await stopping.wait()
    server.close()
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--listen", default="127.0.0.1:0")
    parser.add_argument("--upstream", required=True, metavar="HOST:PORT")
    options = parser.parse_args()
    sys.exit(asyncio.run(main(options.listen, options.upstream)))
