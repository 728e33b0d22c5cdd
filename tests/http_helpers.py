"""Helpers for the polling tests: configs, feed documents, raw server handlers, a fetch wrapper."""

from __future__ import annotations

import asyncio
import gzip
import socket
import struct
import time
import zlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from io import BytesIO
from typing import Any

from tests.server import Server
from watcher.config import HttpConfig
from watcher.http import Fetcher
from watcher.models import FetchResult


def http_cfg(**kw: Any) -> HttpConfig:
    """An HttpConfig for tests: loopback allowed, short timeouts, no host gap unless asked."""
    base: dict[str, Any] = {
        "allow_networks": ("127.0.0.1",),
        "connect_timeout": 2.0,
        "read_timeout": 2.0,
        "min_host_gap": 0.0,
        "contact": "https://example.org/contact",
    }
    base.update(kw)
    return HttpConfig(**base)


def fetch(cfg: HttpConfig, url: str, **kw: Any) -> FetchResult:
    """One Fetcher.get on a fresh event loop."""

    async def go() -> FetchResult:
        async with Fetcher(cfg) as f:
            return await f.get(url, **kw)

    return asyncio.run(go())


def rss(items: Sequence[tuple[str, str]], *, title: str = "Test feed", encoding: str = "utf-8") -> bytes:
    """An RSS 2.0 document with (guid, title) items linking to /post/<guid>."""
    start = datetime(2024, 1, 1, tzinfo=UTC)
    body = "".join(
        f"<item><title>{t}</title><link>http://news.example/post/{g}?utm_source=rss</link>"
        f"<guid isPermaLink='false'>{g}</guid>"
        f"<description>&lt;p&gt;About {t}&lt;/p&gt;</description>"
        f"<pubDate>{format_datetime(start + timedelta(hours=i))}</pubDate></item>"
        for i, (g, t) in enumerate(items)
    )
    doc = (
        f'<?xml version="1.0" encoding="{encoding}"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>http://news.example/</link>{body}</channel></rss>"
    )
    return doc.encode(encoding)


def feed_farm(server: Server, n: int, extra: Sequence[tuple[str, str]] = ()) -> list[dict[str, str]]:
    """Route ``n`` RSS feeds of three stories each (plus ``extra`` items) on a local test server;
    their ``[[feeds]]`` tables."""
    for i in range(n):
        items = [*((f"s{i}-{k}", f"Story {i}-{k}") for k in range(3)), *extra]
        server.route(
            f"/f{i}.xml", rss(items, title=f"Feed {i}"), headers={"Content-Type": "application/rss+xml"}
        )
    return [{"url": server.url(f"/f{i}.xml")} for i in range(n)]


def farm_config_raw(db: str, feeds: list[dict[str, str]]) -> dict[str, Any]:
    """A raw config polling ``feeds`` on loopback into ``db``, feeds only (no article pages)."""
    return {
        "storage": {"db": db},
        "http": {"allow_networks": ["127.0.0.1"], "min_host_gap": 0.0},
        "extract": {"fetch_articles": False, "workers": 1},
        "feeds": feeds,
    }


def gzip_bomb(size: int) -> bytes:
    """A gzip body that inflates to `size` zero bytes."""
    out = BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9) as g:
        chunk = b"\0" * (1 << 20)
        for _ in range(size // len(chunk)):
            g.write(chunk)
    return out.getvalue()


def deflate_raw(data: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return c.compress(data) + c.flush()


RawHandler = Callable[[BaseHTTPRequestHandler], None]


def raw_response(
    status: int, headers: dict[str, str], body: bytes = b"", *, chunked: bool = False
) -> RawHandler:
    """A raw handler writing one response, optionally chunked (no Content-Length)."""

    def handle(h: BaseHTTPRequestHandler) -> None:
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        if chunked:
            h.send_header("Transfer-Encoding", "chunked")
        else:
            h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        try:
            if chunked:
                for i in range(0, len(body), 65536):
                    part = body[i : i + 65536]
                    h.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
                h.wfile.write(b"0\r\n\r\n")
            else:
                h.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            h.close_connection = True

    return handle


def reset_connection(h: BaseHTTPRequestHandler) -> None:
    """Abort the TCP connection (RST) without answering."""
    h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    h.connection.close()
    h.wfile = BytesIO()  # finish() flushes wfile; keep it from touching the closed socket
    h.close_connection = True


def hang(seconds: float) -> RawHandler:
    """Send headers, then nothing for `seconds` (a read timeout on the body)."""

    def handle(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/rss+xml")
        h.send_header("Content-Length", "1000")
        h.end_headers()
        h.wfile.flush()
        time.sleep(seconds)
        h.close_connection = True

    return handle
