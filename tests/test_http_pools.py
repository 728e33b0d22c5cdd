"""One connection pool per origin: connections reused per origin, idle pools closed, busy ones kept."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest

from tests.http_helpers import http_cfg
from tests.server import Server
from watcher.http import Fetcher
from watcher.models import FetchResult, FetchStatus

pytestmark = pytest.mark.skipif(
    not os.path.exists("/proc/net/tcp"), reason="counts sockets in /proc/net/tcp (Linux)"
)


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    started = [Server().start() for _ in range(4)]
    try:
        yield started
    finally:
        for server in started:
            server.stop()


def _peer_port_route(server: Server) -> str:
    """A route whose body is the client's source port: the connection a request came on."""

    def answer(handler: BaseHTTPRequestHandler) -> None:
        body = str(handler.client_address[1]).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "text/plain")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return server.handler("/port", answer)


def open_connections(servers: list[Server]) -> int:
    """Client connections to these servers that the kernel holds established (Linux /proc).

    What the fetcher keeps open, seen from outside it: a closed pool's socket leaves ESTABLISHED.
    """
    ports = {s.port for s in servers}
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError), open(table, encoding="ascii") as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                remote_port, state = int(fields[2].rsplit(":", 1)[1], 16), fields[3]
                count += state == "01" and remote_port in ports
    return count


def test_each_origin_keeps_its_connection_and_idle_pools_are_closed(servers: list[Server]) -> None:
    urls = [_peer_port_route(s) for s in servers]

    async def go() -> tuple[list[FetchResult], list[int]]:
        async with Fetcher(http_cfg(min_host_gap=0.0)) as fetcher:
            fetcher._transport.max_pools = 2  # type: ignore[attr-defined]
            results, open_pools = [], []
            for url in [urls[0], urls[0], urls[1], urls[1], urls[2], urls[3], urls[0]]:
                results.append(await fetcher.get(url))
                open_pools.append(open_connections(servers))
            return results, open_pools

    results, open_pools = asyncio.run(go())
    assert all(r.status is FetchStatus.OK for r in results)
    ports = [r.body for r in results]
    assert ports[0] == ports[1] and ports[2] == ports[3]  # kept alive within an origin
    assert ports[6] != ports[0]  # origin 0's pool was closed in between, so a new connection
    assert max(open_pools) == 2 and open_pools == [1, 1, 2, 2, 2, 2, 2]


def test_a_pool_with_a_response_in_flight_is_never_closed(servers: list[Server]) -> None:
    slow = servers[0].route("/slow", "x" * 5000, delay=1.0)
    quick = [s.route("/q", "quick") for s in servers[1:]]

    async def go() -> tuple[FetchResult, list[FetchResult], int]:
        async with Fetcher(http_cfg(min_host_gap=0.0)) as fetcher:
            fetcher._transport.max_pools = 1  # type: ignore[attr-defined]
            slow_fetch = asyncio.create_task(fetcher.get(slow))
            await asyncio.sleep(0.3)  # the slow request is on its connection now
            others = [await fetcher.get(u) for u in quick]
            kept = open_connections(servers)
            return await slow_fetch, others, kept

    slow_result, others, kept = asyncio.run(go())
    assert slow_result.status is FetchStatus.OK and slow_result.body == b"x" * 5000
    assert [r.body for r in others] == [b"quick"] * 3
    assert kept == 2  # the busy pool and the last one used; the idle ones were closed


def test_pools_idle_past_the_keep_alive_expiry_are_closed(
    servers: list[Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    import watcher.httppool

    monkeypatch.setattr(watcher.httppool, "KEEPALIVE", 0.3)
    urls = [_peer_port_route(s) for s in servers[:2]]

    async def go() -> tuple[list[int], list[FetchResult]]:
        async with Fetcher(http_cfg(min_host_gap=0.0)) as fetcher:
            sizes, results = [], []
            for url, pause in [(urls[0], 0.0), (urls[1], 0.5), (urls[0], 0.0)]:
                await asyncio.sleep(pause)
                results.append(await fetcher.get(url))
                sizes.append(open_connections(servers))
            return sizes, results

    sizes, results = asyncio.run(go())
    assert sizes == [1, 1, 2]  # origin 0's pool was closed once it had idled past the expiry
    assert results[0].body != results[2].body  # so its next request came on a new connection


@pytest.mark.parametrize("soft", [256, 1024, 20_000])
def test_idle_pools_fit_in_half_the_open_file_limit_and_cover_a_farm_when_it_allows(
    monkeypatch: pytest.MonkeyPatch, soft: int
) -> None:
    import resource

    monkeypatch.setattr(resource, "getrlimit", lambda _which: (soft, soft))
    cfg = http_cfg(concurrency=32, per_host_concurrency=2)
    pools = Fetcher(cfg)._transport.max_pools  # type: ignore[attr-defined]
    assert pools >= 256  # never fewer than before the limit was consulted
    if soft >= 4 * 256 * cfg.per_host_concurrency:  # room for more: 500 hosts each keep theirs
        assert pools >= 500 and pools * cfg.per_host_concurrency <= soft // 2


def _status_route(server: Server, path: str, code: int, body: bytes) -> str:
    """A route answering ``code`` with the client's source port in a header (a 304 has no body)."""

    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(code)
        handler.send_header("X-Peer-Port", str(handler.client_address[1]))
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if body:
            handler.wfile.write(body)

    return server.handler(path, answer)


def test_not_modified_and_small_error_answers_keep_the_connection(servers: list[Server]) -> None:
    """A re-poll of feeds that answer 304 reuses the host's connection for its next feed, as a
    200 does (issue 16: an unread 304 closed it, and every feed of a re-poll reconnected)."""
    server = servers[0]
    urls = [
        _status_route(server, "/a", 304, b""),
        _status_route(server, "/b", 304, b""),
        _status_route(server, "/c", 404, b"not here"),
        _peer_port_route(server),
    ]

    async def go() -> list[FetchResult]:
        async with Fetcher(http_cfg(min_host_gap=0.0)) as fetcher:
            return [await fetcher.get(u, etag='"v1"') for u in urls]

    results = asyncio.run(go())
    assert [r.status for r in results] == [
        FetchStatus.NOT_MODIFIED, FetchStatus.NOT_MODIFIED, FetchStatus.HTTP_ERROR, FetchStatus.OK
    ]  # fmt: skip
    ports = [dict(r.headers)["x-peer-port"] for r in results[:3]] + [results[3].body.decode()]
    assert len(set(ports)) == 1, ports
