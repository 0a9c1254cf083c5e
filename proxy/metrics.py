"""Prometheus metrics (counts by verdict and rule, relay latency, upstream errors, queue sizes) and their asyncio HTTP endpoint."""
from __future__ import annotations

import asyncio
import logging
from typing import Iterable, Mapping

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

log = logging.getLogger("oopsguard.metrics")

# Relay latency buckets (seconds): loopback upstreams answer in milliseconds, a slow smarthost in seconds.
RELAY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
REQUEST_TIMEOUT = 10.0       # a scraper that does not finish its request line and headers in time is dropped
MAX_REQUEST_BYTES = 16_384


class Metrics:
    """All of the proxy's metrics in one dedicated registry (never the global one: tests build several)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        self.messages = Counter("oopsguard_messages", "Message decisions by verdict and team.",
                                ("verdict", "team"), registry=self.registry)
        self.findings = Counter("oopsguard_findings", "Findings by rule id.", ("rule",), registry=self.registry)
        self.upstream_errors = Counter("oopsguard_upstream_errors", "Failed hand-offs to the upstream by kind.",
                                       ("kind",), registry=self.registry)
        self.bounces = Counter("oopsguard_bounces_sent", "Annotated bounces sent to senders.", registry=self.registry)
        self.relay_seconds = Histogram("oopsguard_relay_seconds", "Time to relay one message upstream.",
                                       buckets=RELAY_BUCKETS, registry=self.registry)
        self.held = Gauge("oopsguard_held_messages", "Messages held for review.", registry=self.registry)
        self.deferred = Gauge("oopsguard_deferred_messages", "Messages deferred to a later time.",
                              registry=self.registry)
        self.outbox = Gauge("oopsguard_outbox_messages", "Messages of the proxy's own waiting to be sent.",
                            registry=self.registry)
        # labels() hashes and validates its arguments under a lock on every call: the children are looked up
        # once per label set and kept here, so counting a message costs a dict lookup and an increment.
        # The label sets are bounded (verdicts, configured teams, registered rules, failure kinds).
        self._message_children: dict[tuple[str, str], Counter] = {}
        self._finding_children: dict[str, Counter] = {}
        self._error_children: dict[str, Counter] = {}

    def observe_decision(self, verdict: str, team: str, rules: Iterable[str] = ()) -> None:
        key = (verdict, team)
        child = self._message_children.get(key)
        if child is None:
            child = self._message_children[key] = self.messages.labels(verdict=verdict, team=team)
        child.inc()
        for rule in rules:
            finding = self._finding_children.get(rule)
            if finding is None:
                finding = self._finding_children[rule] = self.findings.labels(rule=rule)
            finding.inc()

    def observe_relay(self, seconds: float) -> None:
        self.relay_seconds.observe(seconds)

    def upstream_error(self, kind: str) -> None:
        child = self._error_children.get(kind)
        if child is None:
            child = self._error_children[kind] = self.upstream_errors.labels(kind=kind)
        child.inc()

    def bounce_sent(self) -> None:
        self.bounces.inc()

    def set_queue_sizes(self, sizes: Mapping[str, int]) -> None:
        """Takes SqliteStore.queue_sizes() as is: keys held, deferred, outbox (missing keys leave a gauge alone)."""
        for key, gauge in (("held", self.held), ("deferred", self.deferred), ("outbox", self.outbox)):
            if key in sizes:
                gauge.set(sizes[key])

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def _response(status: str, body: bytes, content_type: str = "text/plain; charset=utf-8", head: bool = False) -> bytes:
    header = (f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
              "Connection: close\r\n\r\n").encode()
    return header if head else header + body


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    return await reader.readuntil(b"\r\n\r\n")


async def _serve_one(metrics: Metrics, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        try:
            request = await asyncio.wait_for(_read_request(reader), REQUEST_TIMEOUT)
        except (asyncio.TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            return
        method, _, rest = request.split(b"\r\n", 1)[0].decode("latin-1").partition(" ")
        target = rest.split(" ", 1)[0]
        path = target.split("?", 1)[0]
        if method not in ("GET", "HEAD"):
            reply = _response("405 Method Not Allowed", b"only GET\n")
        elif path != "/metrics":
            reply = _response("404 Not Found", b"not found; metrics are at /metrics\n", head=method == "HEAD")
        else:
            reply = _response("200 OK", metrics.exposition(), CONTENT_TYPE_LATEST, head=method == "HEAD")
        writer.write(reply)
        await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except ConnectionError:
            pass


async def start_metrics_server(metrics: Metrics, host: str, port: int) -> asyncio.Server:
    """Serve GET /metrics in the running loop (no thread); the caller closes the returned server."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _serve_one(metrics, reader, writer)

    server = await asyncio.start_server(handle, host, port, limit=MAX_REQUEST_BYTES)
    log.info("metrics endpoint on http://%s:%d/metrics", host, server.sockets[0].getsockname()[1])
    return server
