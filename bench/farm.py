"""A feed farm on 127.0.0.1 for benchmarks, run in its own process so it is not measured as watcher.

N feeds x M items; article pages are the real pages under ../shared/fixtures/html/ when present (read
at run time, never copied), else generated news-like HTML.  GET /_next advances the "generation":
each feed then lists one new item (for soak runs).  Start with `start_farm(...)`.
"""

from __future__ import annotations

import gzip
import html
import multiprocessing as mp
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
WORDS = [
    "government",
    "minister",
    "said",
    "officials",
    "report",
    "region",
    "city",
    "police",
    "court",
    "border",
    "agency",
    "economy",
    "trade",
    "market",
    "workers",
    "companies",
    "plan",
    "week",
    "year",
    "people",
    "country",
    "council",
    "budget",
    "health",
    "schools",
    "election",
    "party",
    "leaders",
    "talks",
    "agreement",
    "energy",
    "prices",
    "weather",
    "river",
    "bridge",
    "hospital",
    "festival",
    "museum",
    "team",
]


def load_pages(limit: int = 400) -> list[bytes]:
    """Real article pages from ../shared/fixtures/html when present, else generated ones."""
    pages: list[bytes] = []
    root = SHARED / "fixtures" / "html"
    for sub in ("article-extraction-benchmark/html", "newspaper4k/html", "trafilatura/pages"):
        for path in sorted((root / sub).glob("*.gz")) if (root / sub).is_dir() else []:
            pages.append(gzip.decompress(path.read_bytes()))
            if len(pages) >= limit:
                return pages
    if pages:
        return pages
    rng = random.Random(7)
    for i in range(200):
        paras = "".join(
            "<p>"
            + " ".join(rng.choice(WORDS) for _ in range(rng.randint(40, 90))).capitalize()
            + ".</p>"
            for _ in range(rng.randint(8, 14))
        )
        pages.append(
            f"<html><head><title>Story {i}</title></head><body><nav><a href='/'>Home</a>"
            f"<a href='/w'>World</a></nav><article><h1>Story {i}</h1>{paras}</article>"
            "<footer>(c) Farm News</footer></body></html>".encode()
        )
    return pages


def page_index(feed: int, item: int, pages: int) -> int:
    """Which page an item links to: a few dozen feeds already cover every page, so a run sees the
    pages' whole vocabulary from its first cycle (feed * 1000 + item covered only 40 of 400)."""
    return (feed * 37 + item) % pages


def feed_xml(port: int, feed: int, items: int, generation: int) -> bytes:
    now = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(minutes=generation)
    out = []
    for k in range(generation, generation + items):
        link = f"http://127.0.0.1:{port}/a/{feed}/{k}.html"
        out.append(
            f"<item><title>Farm story {feed}-{k}</title><link>{link}</link><guid>{link}</guid>"
            f"<pubDate>{format_datetime(now - timedelta(minutes=k - generation))}</pubDate>"
            f"<description>{html.escape(' '.join(WORDS[(feed + k + j) % len(WORDS)] for j in range(60)))}"
            "</description></item>"
        )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Farm feed {feed}</title>'
        f"<link>http://127.0.0.1:{port}/</link>{''.join(out)}</channel></rss>"
    ).encode()


def _serve(port_q: Any, feeds: int, items: int, real_pages: bool) -> None:
    pages = load_pages() if real_pages else load_pages(0)
    state = {"generation": 0}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _send(self, body: bytes, ctype: str, etag: str | None = None) -> None:
            if etag and self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            if etag:
                self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            parts = self.path.strip("/").split("/")
            if parts == ["_next"]:
                state["generation"] += 1
                self._send(b"ok", "text/plain")
            elif parts[0] == "f" and len(parts) == 2:
                n = int(parts[1].split(".")[0])
                gen = state["generation"]
                self._send(feed_xml(port, n, items, gen), "application/rss+xml", f'"{n}-{gen}"')
            elif parts[0] == "a" and len(parts) == 3:
                k = page_index(int(parts[1]), int(parts[2].split(".")[0]), len(pages))
                self._send(pages[k], "text/html; charset=utf-8")
            else:
                self.send_error(404)

    class Server(ThreadingHTTPServer):
        request_queue_size = 1024  # the listen() backlog: 5 by default drops SYNs under load
        daemon_threads = True

    httpd = Server(("127.0.0.1", 0), Handler)
    port = httpd.server_address[1]
    port_q.put(port)
    httpd.serve_forever()


class Farm:
    def __init__(self, feeds: int, items: int, real_pages: bool = True) -> None:
        ctx = mp.get_context("spawn")
        q = ctx.Queue()
        self.proc = ctx.Process(target=_serve, args=(q, feeds, items, real_pages), daemon=True)
        self.proc.start()
        self.port: int = q.get(timeout=60)
        self.feeds = feeds

    def feed_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{self.port}/f/{i}.xml" for i in range(self.feeds)]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.join(5)


def rss_kb() -> int:
    """Resident set size of this process, in KiB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def peak_rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0
