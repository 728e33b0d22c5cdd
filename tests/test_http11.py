"""The fetcher's own HTTP/1.1 exchange (watcher.http11): Content-Length bodies read past h11 keep
HTTP's rules: exactly the declared bytes, a short body is an error, extra bytes end the connection."""

from __future__ import annotations

import asyncio
from http.server import BaseHTTPRequestHandler

from tests.http_helpers import http_cfg
from tests.server import Server
from watcher.http import Fetcher
from watcher.models import FetchResult, FetchStatus


def _get_twice(url: str) -> list[FetchResult]:
    async def go() -> list[FetchResult]:
        async with Fetcher(http_cfg()) as fetcher:
            return [await fetcher.get(url), await fetcher.get(url)]

    return asyncio.run(go())


def test_bytes_past_the_declared_body_are_not_body_and_end_the_connection(http_server: Server) -> None:
    def answer(h: BaseHTTPRequestHandler) -> None:
        port = f"{h.client_address[1]:05d}".encode()  # the body: the connection it came on
        h.wfile.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n"
            + port
            + b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nsmuggle"  # not asked for
        )

    first, second = _get_twice(http_server.handler("/extra", answer))
    assert (first.status, second.status) == (FetchStatus.OK, FetchStatus.OK)
    assert len(first.body) == 5 and first.body.isdigit()  # exactly the declared length
    assert second.body.isdigit() and second.body != b"smuggle"  # never the bytes left over
    assert second.body != first.body  # asked on a new connection


def test_a_body_shorter_than_declared_is_a_connection_error(http_server: Server) -> None:
    def answer(h: BaseHTTPRequestHandler) -> None:
        h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"x" * 10)
        h.close_connection = True

    first, second = _get_twice(http_server.handler("/short", answer))
    for result in (first, second):
        assert result.status is FetchStatus.CONNECTION_ERROR
        assert result.body == b""
        assert result.error is not None and "complete message body" in result.error


def test_a_content_length_body_leaves_the_connection_for_the_next_request(http_server: Server) -> None:
    def answer(h: BaseHTTPRequestHandler) -> None:
        body = str(h.client_address[1]).encode() * 40_000  # several reads' worth
        h.send_response(200)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    first, second = _get_twice(http_server.handler("/big", answer))
    assert first.status is FetchStatus.OK and second.status is FetchStatus.OK
    assert len(first.body) >= 40_000 * 4 and first.body == second.body  # same connection, whole body


def test_request_headers_validated_once_still_go_out_whole_and_bad_ones_still_fail(
    http_server: Server,
) -> None:
    """Issue 16: a set of request headers is validated by h11 once (http11.HeaderCache); every
    request still carries all of them, each request's own validators included, and a value h11
    refuses is refused every time, never kept."""
    import h11
    import pytest

    from watcher.http11 import HeaderCache

    url = http_server.route("/h", "ok", headers={"Content-Type": "text/plain"})
    cache = HeaderCache(size=2)
    good = [(b"Host", b"127.0.0.1"), (b"Accept", b"text/html")]
    assert cache.validated(good) is cache.validated(list(good))  # the same set: validated once
    bad_sets = [[(b"Host", b"h"), (b"X-Bad", b"a\r\nInjected: 1")], [(b"Host", b"h"), (b"A B", b"v")]]
    for bad in bad_sets:
        for _ in range(2):
            with pytest.raises(h11.LocalProtocolError, match=r"[Ii]llegal"):
                cache.validated(bad)
    assert cache.validated([(b"Host", b"a")]) is not None and cache.validated([(b"Host", b"b")])

    async def go() -> list[FetchResult]:
        async with Fetcher(http_cfg()) as fetcher:
            return [
                await fetcher.get(url, etag='"one"'),
                await fetcher.get(url, etag='"two"'),
                await fetcher.get(url, etag='"two"'),
            ]

    results = asyncio.run(go())
    assert [r.status for r in results] == [FetchStatus.OK] * 3
    sent = [headers for _method, path, headers in http_server.requests if path == "/h"]
    assert [h.get("If-None-Match") for h in sent] == ['"one"', '"two"', '"two"']
    assert all(h.get("Host", "").startswith("127.0.0.1:") and h.get("Accept") for h in sent)
