"""Metrics: observations show up in the Prometheus text scraped over real HTTP from the asyncio endpoint."""
from __future__ import annotations

import asyncio
import urllib.error
import urllib.request

import pytest

from proxy.metrics import Metrics, start_metrics_server


def fetch(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers.get("Content-Type", ""), error.read().decode()


async def test_scrape_over_http() -> None:
    metrics = Metrics()
    metrics.observe_decision("held", "platform", ["blame-names", "non-apology"])
    metrics.observe_decision("held", "platform", ["blame-names"])
    metrics.observe_decision("delivered", "support", [])
    metrics.observe_relay(0.02)
    metrics.observe_relay(0.3)
    metrics.upstream_error("timeout")
    metrics.bounce_sent()
    metrics.set_queue_sizes({"held": 4, "deferred": 1, "outbox": 2})
    server = await start_metrics_server(metrics, "127.0.0.1", 0)
    try:
        port = server.sockets[0].getsockname()[1]
        status, content_type, body = await asyncio.to_thread(fetch, f"http://127.0.0.1:{port}/metrics")
        missing_status, _, _ = await asyncio.to_thread(fetch, f"http://127.0.0.1:{port}/")
    finally:
        server.close()
        await server.wait_closed()
    assert status == 200 and content_type.startswith("text/plain")
    lines = set(body.splitlines())
    for expected in (
        'oopsguard_messages_total{team="platform",verdict="held"} 2.0',
        'oopsguard_messages_total{team="support",verdict="delivered"} 1.0',
        'oopsguard_findings_total{rule="blame-names"} 2.0',
        'oopsguard_findings_total{rule="non-apology"} 1.0',
        'oopsguard_upstream_errors_total{kind="timeout"} 1.0',
        "oopsguard_bounces_sent_total 1.0",
        "oopsguard_relay_seconds_count 2.0",
        'oopsguard_relay_seconds_bucket{le="0.025"} 1.0',
        'oopsguard_relay_seconds_bucket{le="0.5"} 2.0',
        "oopsguard_held_messages 4.0",
        "oopsguard_deferred_messages 1.0",
        "oopsguard_outbox_messages 2.0",
    ):
        assert expected in lines, expected
    assert missing_status == 404


def test_registries_are_independent() -> None:
    first, second = Metrics(), Metrics()
    first.bounce_sent()
    assert b"oopsguard_bounces_sent_total 1.0" in first.exposition()
    assert b"oopsguard_bounces_sent_total 0.0" in second.exposition()


async def test_slow_or_bad_clients_do_not_break_the_endpoint() -> None:
    metrics = Metrics()
    server = await start_metrics_server(metrics, "127.0.0.1", 0)
    try:
        port = server.sockets[0].getsockname()[1]
        # A client that sends garbage and hangs up, then one that posts: the endpoint keeps answering.
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"\x00\x01garbage")
        writer.close()
        await writer.wait_closed()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        await writer.drain()
        reply = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        await writer.wait_closed()
        assert reply.startswith(b"HTTP/1.1 405 ")
        status, _, body = await asyncio.to_thread(fetch, f"http://127.0.0.1:{port}/metrics")
        assert status == 200 and "oopsguard_held_messages 0.0" in body
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize("sizes", [{"held": 7}, {}])
def test_partial_queue_sizes(sizes: dict[str, int]) -> None:
    metrics = Metrics()
    metrics.set_queue_sizes({"held": 1, "deferred": 2, "outbox": 3})
    metrics.set_queue_sizes(sizes)
    text = metrics.exposition().decode()
    assert f"oopsguard_held_messages {float(sizes.get('held', 1))}" in text
    assert "oopsguard_outbox_messages 3.0" in text
