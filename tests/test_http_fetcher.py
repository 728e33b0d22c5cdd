"""Fetcher against a real local HTTP server: statuses, redirects, limits, politeness."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler

import brotli
import pytest

from tests.http_helpers import (
    deflate_raw,
    fetch,
    gzip_bomb,
    hang,
    http_cfg,
    raw_response,
    reset_connection,
    rss,
)
from tests.server import Server
from watcher.http import FEED_ACCEPT, Fetcher
from watcher.models import FetchStatus

FEED = rss([("a", "Alpha"), ("b", "Beta")])
RSS_TYPE = {"Content-Type": "application/rss+xml"}


def test_ok_sends_user_agent_accept_and_validators(http_server: Server) -> None:
    url = http_server.route("/feed", FEED, headers={**RSS_TYPE, "ETag": '"v1"'})
    r = fetch(http_cfg(), url, etag='"v0"', last_modified="Mon, 01 Jan 2024 00:00:00 GMT")
    assert r.status is FetchStatus.OK and r.ok
    assert r.body == FEED and r.etag == '"v1"' and r.http_status == 200
    assert r.final_url == url and r.permanent_url is None
    _, _, headers = http_server.requests[-1]
    assert headers["User-Agent"] == "watcher/0.1 (+https://example.org/contact)"
    assert headers["Accept"] == FEED_ACCEPT
    assert headers["If-None-Match"] == '"v0"'
    assert headers["If-Modified-Since"] == "Mon, 01 Jan 2024 00:00:00 GMT"


def test_no_validators_sent_when_not_given(http_server: Server) -> None:
    url = http_server.route("/feed", FEED)
    fetch(http_cfg(), url)
    headers = http_server.requests[-1][2]
    assert "If-None-Match" not in headers and "If-Modified-Since" not in headers


def test_304_is_not_modified_with_empty_body(http_server: Server) -> None:
    url = http_server.route("/feed", b"", status=304, headers={"ETag": '"v1"'})
    r = fetch(http_cfg(), url, etag='"v1"')
    assert r.status is FetchStatus.NOT_MODIFIED and r.body == b"" and r.error is None


@pytest.mark.parametrize("code", [301, 308])
def test_permanent_redirect_sets_permanent_url(http_server: Server, code: int) -> None:
    final = http_server.route("/new", FEED, headers=RSS_TYPE)
    http_server.route("/mid", b"", status=code, headers={"Location": "/new"})
    start = http_server.route(
        "/old", b"", status=code, headers={"Location": http_server.url("/mid")}
    )
    r = fetch(http_cfg(), start)
    assert r.status is FetchStatus.MOVED and r.ok
    assert r.permanent_url == final and r.final_url == final and r.body == FEED
    assert r.url == start


@pytest.mark.parametrize("code", [302, 303, 307])
def test_temporary_redirect_is_followed_without_moving(http_server: Server, code: int) -> None:
    final = http_server.route("/tmp-target", FEED)
    start = http_server.route("/t", b"", status=code, headers={"Location": "/tmp-target"})
    r = fetch(http_cfg(), start)
    assert r.status is FetchStatus.OK and r.final_url == final and r.permanent_url is None


def test_mixed_chain_is_not_permanent(http_server: Server) -> None:
    http_server.route("/end", FEED)
    http_server.route("/b", b"", status=302, headers={"Location": "/end"})
    start = http_server.route("/a", b"", status=301, headers={"Location": "/b"})
    r = fetch(http_cfg(), start)
    assert r.status is FetchStatus.OK and r.permanent_url is None


def test_permanent_redirect_to_error_does_not_move(http_server: Server) -> None:
    start = http_server.route("/a", b"", status=301, headers={"Location": "/missing"})
    r = fetch(http_cfg(), start)
    assert r.status is FetchStatus.HTTP_ERROR and r.http_status == 404 and r.permanent_url is None


def test_redirect_loop_is_stopped(http_server: Server) -> None:
    http_server.route("/x", b"", status=302, headers={"Location": "/y"})
    start = http_server.route("/y", b"", status=301, headers={"Location": "/x"})
    r = fetch(http_cfg(), start)
    assert r.status is FetchStatus.TOO_MANY_REDIRECTS and "loop" in (r.error or "")
    assert http_server.hits("/x") == 1 and http_server.hits("/y") == 1


def test_too_many_redirects(http_server: Server) -> None:
    for i in range(5):
        http_server.route(f"/r{i}", b"", status=302, headers={"Location": f"/r{i + 1}"})
    http_server.route("/r5", FEED)
    r = fetch(http_cfg(max_redirects=3), http_server.url("/r0"))
    assert r.status is FetchStatus.TOO_MANY_REDIRECTS and http_server.hits("/r4") == 0
    assert fetch(http_cfg(max_redirects=5), http_server.url("/r0")).status is FetchStatus.OK


def test_redirect_without_location(http_server: Server) -> None:
    r = fetch(http_cfg(), http_server.route("/nowhere", b"", status=301))
    assert r.status is FetchStatus.HTTP_ERROR and "Location" in (r.error or "")


def test_410_is_gone(http_server: Server) -> None:
    r = fetch(http_cfg(), http_server.route("/gone", b"bye", status=410))
    assert r.status is FetchStatus.GONE and r.http_status == 410 and r.body == b""


def test_429_retry_after_seconds() -> None:
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    server = Server().start()
    try:
        url = server.route("/slow", b"", status=429, headers={"Retry-After": "120"})

        async def go() -> object:
            async with Fetcher(http_cfg(), clock=lambda: now) as f:
                return await f.get(url)

        r = asyncio.run(go())
    finally:
        server.stop()
    assert r.status is FetchStatus.RATE_LIMITED  # type: ignore[attr-defined]
    assert r.retry_after == now + timedelta(seconds=120)  # type: ignore[attr-defined]


@pytest.mark.parametrize("code", [429, 503])
def test_retry_after_http_date(http_server: Server, code: int) -> None:
    when = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    url = http_server.route(
        "/busy", b"", status=code, headers={"Retry-After": format_datetime(when, usegmt=True)}
    )
    r = fetch(http_cfg(), url)
    assert r.status is FetchStatus.RATE_LIMITED and r.retry_after == when


def test_503_without_retry_after(http_server: Server) -> None:
    r = fetch(http_cfg(), http_server.route("/down", b"", status=503))
    assert r.status is FetchStatus.RATE_LIMITED and r.retry_after is None


@pytest.mark.parametrize("code", [404, 500, 502, 403])
def test_other_errors_are_http_errors(http_server: Server, code: int) -> None:
    r = fetch(http_cfg(), http_server.route("/err", b"x", status=code))
    assert r.status is FetchStatus.HTTP_ERROR and r.http_status == code
    assert r.error and str(code) in r.error and "\n" not in r.error


def test_read_timeout(http_server: Server) -> None:
    url = http_server.handler("/hang", hang(1.5))
    started = time.monotonic()
    r = fetch(http_cfg(read_timeout=0.3), url)
    assert r.status is FetchStatus.TIMEOUT and time.monotonic() - started < 1.4


def test_slow_headers_timeout(http_server: Server) -> None:
    url = http_server.route("/late", FEED, delay=1.0)
    assert fetch(http_cfg(read_timeout=0.3), url).status is FetchStatus.TIMEOUT


def test_reset_connection(http_server: Server) -> None:
    r = fetch(http_cfg(), http_server.handler("/reset", reset_connection))
    assert r.status is FetchStatus.CONNECTION_ERROR and r.error


def test_connection_refused() -> None:
    server = Server()  # bound but never started, then closed: the port refuses
    url = server.url("/feed")
    server.httpd.server_close()
    assert fetch(http_cfg(), url).status is FetchStatus.CONNECTION_ERROR


def test_declared_oversized_body_is_not_read(http_server: Server) -> None:
    url = http_server.route("/big", b"x" * 50_000, headers=RSS_TYPE)
    r = fetch(http_cfg(), url, max_bytes=10_000)
    assert r.status is FetchStatus.TOO_LARGE and r.body == b""


def test_chunked_oversized_body_stops_streaming(http_server: Server) -> None:
    url = http_server.handler(
        "/chunked", raw_response(200, RSS_TYPE, b"y" * 2_000_000, chunked=True)
    )

    async def go() -> tuple[object, int]:
        async with Fetcher(http_cfg()) as f:
            r = await f.get(url, max_bytes=100_000)
            return r, f.bytes_received

    r, received = asyncio.run(go())
    assert r.status is FetchStatus.TOO_LARGE  # type: ignore[attr-defined]
    assert received < 500_000


def test_gzip_bomb_is_too_large(http_server: Server) -> None:
    bomb = gzip_bomb(64 << 20)
    assert len(bomb) < 200_000
    url = http_server.handler(
        "/bomb", raw_response(200, {**RSS_TYPE, "Content-Encoding": "gzip"}, bomb)
    )
    r = fetch(http_cfg(max_body_bytes=1 << 20), url)
    assert r.status is FetchStatus.TOO_LARGE and "1048576" in (r.error or "")


def test_brotli_bomb_is_too_large(http_server: Server) -> None:
    bomb = brotli.compress(b"\0" * (32 << 20))
    url = http_server.handler("/br", raw_response(200, {"Content-Encoding": "br"}, bomb))
    assert fetch(http_cfg(max_body_bytes=1 << 20), url).status is FetchStatus.TOO_LARGE


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "deflate-raw", "br"])
def test_compressed_bodies_decode(http_server: Server, encoding: str) -> None:
    import gzip
    import zlib

    body = {
        "gzip": gzip.compress(FEED),
        "deflate": zlib.compress(FEED),
        "deflate-raw": deflate_raw(FEED),
        "br": brotli.compress(FEED),
    }[encoding]
    name = encoding.split("-")[0]
    url = http_server.handler(
        "/c", raw_response(200, {"Content-Encoding": name}, body, chunked=True)
    )
    r = fetch(http_cfg(), url)
    assert r.status is FetchStatus.OK and r.body == FEED
    assert http_server.requests[-1][2]["Accept-Encoding"] == "gzip, deflate, br"


def test_corrupt_gzip_is_connection_error(http_server: Server) -> None:
    url = http_server.handler(
        "/bad", raw_response(200, {"Content-Encoding": "gzip"}, b"not gzip at all")
    )
    r = fetch(http_cfg(), url)
    assert r.status is FetchStatus.CONNECTION_ERROR and "decode" in (r.error or "")


def test_unoffered_encoding_is_an_error(http_server: Server) -> None:
    url = http_server.handler(
        "/z", raw_response(200, {"Content-Encoding": "zstd"}, b"\x28\xb5\x2f\xfd")
    )
    r = fetch(http_cfg(), url)
    assert r.status is FetchStatus.HTTP_ERROR and "zstd" in (r.error or "")


def _counting(delay: float, state: dict[str, int], lock: threading.Lock) -> object:
    def handle(h: BaseHTTPRequestHandler) -> None:
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        time.sleep(delay)
        with lock:
            state["now"] -= 1
        raw_response(200, RSS_TYPE, FEED)(h)

    return handle


def test_per_host_concurrency_is_enforced(http_server: Server) -> None:
    state = {"now": 0, "max": 0}
    lock = threading.Lock()
    urls = [http_server.handler(f"/c{i}", _counting(0.15, state, lock)) for i in range(8)]  # type: ignore[arg-type]

    async def go() -> tuple[list[object], dict[str, int]]:
        async with Fetcher(http_cfg(per_host_concurrency=2, concurrency=16)) as f:
            rs = await asyncio.gather(*(f.get(u) for u in urls))
            return list(rs), f.max_host_concurrency_seen

    results, seen = asyncio.run(go())
    assert all(r.status is FetchStatus.OK for r in results)  # type: ignore[attr-defined]
    assert seen == {"127.0.0.1": 2}
    assert state["max"] == 2  # the server saw at most two at once, and did see two


def test_global_concurrency_is_enforced(http_server: Server) -> None:
    state = {"now": 0, "max": 0}
    lock = threading.Lock()
    urls = [http_server.handler(f"/g{i}", _counting(0.1, state, lock)) for i in range(6)]  # type: ignore[arg-type]

    async def go() -> None:
        async with Fetcher(http_cfg(per_host_concurrency=4, concurrency=1)) as f:
            await asyncio.gather(*(f.get(u) for u in urls))

    asyncio.run(go())
    assert state["max"] == 1


def test_min_host_gap_spaces_request_starts(http_server: Server) -> None:
    urls = [http_server.route(f"/gap{i}", FEED) for i in range(4)]
    starts: list[float] = []

    async def go() -> None:
        async with Fetcher(http_cfg(min_host_gap=0.2, per_host_concurrency=4)) as f:

            async def one(u: str) -> None:
                await f.get(u)
                starts.append(time.monotonic())

            t0 = time.monotonic()
            await asyncio.gather(*(one(u) for u in urls))
            starts.insert(0, t0)

    asyncio.run(go())
    assert starts[-1] - starts[0] >= 0.55  # four starts need three gaps of 0.2 s
