"""The fetcher's HTTP/1.1 responses as llhttp reads them (watcher.http11), from real sockets: hostile
or odd servers fail with one line, and a connection carries a next request only when its response
was whole and the server allowed it (issue 16)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler

import pytest

from tests.http_helpers import http_cfg
from tests.server import Server
from watcher.http import Fetcher
from watcher.http11 import MAX_HEAD
from watcher.models import FetchResult, FetchStatus


def _get_twice(url: str) -> list[FetchResult]:
    async def go() -> list[FetchResult]:
        async with Fetcher(http_cfg()) as fetcher:
            return [await fetcher.get(url), await fetcher.get(url)]

    return asyncio.run(go())


def _raw(head: bytes, body: bytes = b"", *, close: bool = False) -> Callable[[BaseHTTPRequestHandler], None]:
    """A handler that writes these bytes; ``{port}`` in the body becomes the client's port (so a
    body tells which connection it came on)."""

    def answer(h: BaseHTTPRequestHandler) -> None:
        port = f"{h.client_address[1]:05d}".encode()
        h.wfile.write(head + body.replace(b"{port}", port))
        h.wfile.flush()
        h.close_connection = close

    return answer


def test_headers_without_end_fail_past_the_head_limit(http_server: Server) -> None:
    def answer(h: BaseHTTPRequestHandler) -> None:
        h.wfile.write(b"HTTP/1.1 200 OK\r\n")
        line = b"X-Filler: " + b"a" * 90 + b"\r\n"
        for _ in range(3 * MAX_HEAD // len(line)):  # three times the limit, then the server gives up
            h.wfile.write(line)
        h.close_connection = True

    first, _ = _get_twice(http_server.handler("/endless", answer))
    assert first.status is FetchStatus.CONNECTION_ERROR
    assert first.error is not None and f"head larger than {MAX_HEAD} bytes" in first.error


def test_a_head_over_the_limit_in_one_piece_fails_too(http_server: Server) -> None:
    big = b"X-Big: " + b"b" * (MAX_HEAD + 10) + b"\r\n"
    head = b"HTTP/1.1 200 OK\r\n" + big + b"Content-Length: 2\r\n\r\n"
    url = http_server.handler("/bighead", _raw(head, b"ok"))
    first, _ = _get_twice(url)
    assert first.status is FetchStatus.CONNECTION_ERROR
    assert first.error is not None and "head larger" in first.error


@pytest.mark.parametrize(
    ("path", "head", "body"),
    [
        (  # a chunk size that is no hexadecimal number
            "/badchunk",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"5\r\nhello\r\nzz\r\nnope\r\n0\r\n\r\n",
        ),
        ("/garbage", b"HTTP/1.1 2OO OK\r\nContent-Length: 2\r\n\r\n", b"ok"),  # a status that is no number
    ],
)
def test_a_malformed_response_is_one_connection_error(
    http_server: Server, path: str, head: bytes, body: bytes
) -> None:
    first, _ = _get_twice(http_server.handler(path, _raw(head, body, close=True)))
    assert first.status is FetchStatus.CONNECTION_ERROR
    assert first.error is not None and "invalid HTTP response" in first.error
    assert first.body == b""


def test_conflicting_content_lengths_are_refused(http_server: Server) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\n"
    first, _ = _get_twice(http_server.handler("/twolengths", _raw(head, b"hello", close=True)))
    assert first.status is FetchStatus.CONNECTION_ERROR


def test_a_chunked_body_arrives_whole_and_the_connection_is_kept(http_server: Server) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
    body = b"5\r\n{port}\r\n3\r\nabc\r\n0\r\n\r\n"
    first, second = _get_twice(http_server.handler("/chunked", _raw(head, body)))
    assert (first.status, second.status) == (FetchStatus.OK, FetchStatus.OK)
    assert len(first.body) == 8 and first.body.endswith(b"abc")
    assert first.body == second.body  # the same connection carried both


def test_a_body_ended_by_closing_is_whole_and_the_connection_is_not_reused(http_server: Server) -> None:
    answer = _raw(b"HTTP/1.1 200 OK\r\n\r\n", b"{port}-end", close=True)
    first, second = _get_twice(http_server.handler("/toeof", answer))
    assert (first.status, second.status) == (FetchStatus.OK, FetchStatus.OK)
    assert first.body.endswith(b"-end") and len(first.body) == 9
    assert first.body != second.body  # a new connection for the second


def test_connection_close_and_http_1_0_are_not_reused(http_server: Server) -> None:
    for path, head in (
        ("/close", b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\n"),
        ("/old", b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\n"),
    ):
        first, second = _get_twice(http_server.handler(path, _raw(head, b"{port}")))
        assert (first.status, second.status) == (FetchStatus.OK, FetchStatus.OK), path
        assert first.body != second.body, path  # each on its own connection


def test_an_interim_answer_is_skipped_and_the_connection_kept(http_server: Server) -> None:
    head = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nX-Final: yes\r\nContent-Length: 5\r\n\r\n"
    first, second = _get_twice(http_server.handler("/interim", _raw(head, b"{port}")))
    assert (first.status, second.status) == (FetchStatus.OK, FetchStatus.OK)
    assert first.http_status == 200 and ("x-final", "yes") in first.headers
    assert first.body == second.body


def test_a_server_that_closes_before_answering_is_one_connection_error(http_server: Server) -> None:
    for path, head in (("/silent", b""), ("/halfhead", b"HTTP/1.1 200 OK\r\nContent-Le")):
        first, _ = _get_twice(http_server.handler(path, _raw(head, close=True)))
        assert first.status is FetchStatus.CONNECTION_ERROR, path
        assert first.error is not None and "without sending" in first.error, path
