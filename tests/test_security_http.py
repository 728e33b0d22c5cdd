"""Crafted URLs and responses (issue 8): every one comes back from Fetcher.get as a status.

Each case below used to raise out of ``Fetcher.get`` (InvalidURL, idna.IDNAError, an anyio
ExceptionGroup, UnicodeEncodeError) and so crashed the whole feed, every cycle, when it sat in one
article link, one redirect or one stored validator.  All traffic goes to the local test server.
"""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from tests.http_helpers import fetch, http_cfg
from tests.security_helpers import RSS_TYPE, make_world, no_dns, rss_doc
from tests.server import Server
from watcher.models import FetchStatus

pytestmark = pytest.mark.usefixtures(no_dns.__name__)  # names resolve to loopback or not at all


@pytest.mark.parametrize(
    "url",
    [
        "http://xn--/",  # IDNA decoding fails lazily, inside httpx.URL.host
        "http://127.0.0.1:99999/",
        "http://127.0.0.1:65536/",
        "http://[::ffff:127.0.0.1]:70000/",
        "http://\u0661\u0662\u0667.0.0.1/",
        "http://[oops/",
        "http://a b.example/",
    ],
)
def test_malformed_urls_are_http_errors(url: str) -> None:
    r = fetch(http_cfg(), url)
    assert r.status in (FetchStatus.HTTP_ERROR, FetchStatus.CONNECTION_ERROR), r
    assert r.error and len(r.error) < 400


@pytest.mark.parametrize(
    "location", ["//[::1", "http://[oops/", "http://xn--/", "http://\x80/", "http://127.0.0.1:99999/"]
)
def test_unfollowable_redirects_are_http_errors(http_server: Server, location: str) -> None:
    def handle(h: BaseHTTPRequestHandler) -> None:
        h.wfile.write(
            b"HTTP/1.1 302 Found\r\nLocation: " + location.encode("latin-1") + b"\r\n"
            b"Content-Length: 0\r\n\r\n"
        )

    r = fetch(http_cfg(), http_server.handler("/jump", handle))
    # httpx turns "http://[oops/" into the host name "%5boops", which then does not resolve.
    assert r.status in (FetchStatus.HTTP_ERROR, FetchStatus.CONNECTION_ERROR), r
    assert r.error and any(s in r.error for s in ("Location", "invalid URL", "cannot resolve"))


def test_non_ascii_validators_do_not_poison_later_polls(http_server: Server) -> None:
    def handle(h: BaseHTTPRequestHandler) -> None:
        body = rss_doc("F", [("a", "http://news.example/a", "x")])
        h.wfile.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
            b'ETag: "\xe2\x82\xac-\x9b31m"\r\nLast-Modified: \xff\xfe\r\n'
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )

    url = http_server.handler("/v", handle)
    first = fetch(http_cfg(), url)
    assert first.status is FetchStatus.OK and first.etag and first.last_modified
    again = fetch(http_cfg(), url, etag=first.etag, last_modified=first.last_modified)
    assert again.status is FetchStatus.OK  # sent unconditionally rather than raising
    assert "If-None-Match" not in http_server.requests[-1][2]


def test_a_hostile_link_or_validator_does_not_crash_the_feed(http_server: Server, tmp_path: Path) -> None:
    items = [
        ("Afghan migrants in Russia: idna", "http://xn--/a", "Afghan migrants."),
        ("Afghan migrants in Russia: port", "http://127.0.0.1:99999/b", "Afghan migrants."),
        ("Afghan migrants in Russia: bracket", "http://[oops/c", "Afghan migrants."),
        ("Afghan migrants in Russia: fine", "http://news.example.invalid/d", "Afghan migrants."),
    ]
    body = rss_doc("F", items)

    def handle(h: BaseHTTPRequestHandler) -> None:
        h.wfile.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: " + RSS_TYPE["Content-Type"].encode() + b"\r\n"
            b'ETag: "\xe2\x82\xac"\r\n' + f"Content-Length: {len(body)}\r\n\r\n".encode() + body
        )

    http_server.handler("/feed", handle)
    world = make_world(
        http_server, tmp_path, ["/feed"], http={"allow_networks": ["127.0.0.1", "news.example.invalid"]}
    )
    for _ in range(2):  # the second poll sends the stored (non-ASCII) ETag back
        report = world.cycle()
        assert [f.status for f in report.feeds] in (["ok"], ["not_modified"]), report.feeds
    assert len(world.stored()) == len(items)
    world.engine.dispose()
