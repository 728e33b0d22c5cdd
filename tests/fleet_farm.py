"""A farm of many feeds on 127.0.0.1 whose items keep coming, with a log of every request (issue 13).

Feed ``n`` publishes a new item every ``period`` seconds, the feeds staggered so that new items
arrive all the time; it lists its two latest items and answers ``If-None-Match`` with 304.  Some
items are about the default topic (their titles match it).  Each request is logged with the time,
the feed, the asking worker (its User-Agent) and, for a 200, the links served — so a test can count
each feed's requests and check that every item served was stored.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.farm import rss

RELEVANT = "Russia opens a pilot quota for Afghan labour migrants, report {n}-{v}"
NEUTRAL = "Storm closes mountain passes in region {n}, bulletin {v}"


@dataclass(frozen=True, slots=True)
class Hit:
    at: float  # time.time()
    feed: int
    agent: str
    status: int
    links: tuple[str, ...]


class FleetFarm:
    """``feeds`` feeds at ``/f/<n>.xml``; ``freeze()`` stops new items."""

    def __init__(self, feeds: int, period: float, relevant_every: int = 25) -> None:
        self.feeds, self.period, self.relevant_every = feeds, period, relevant_every
        self.t0 = time.time()
        self.frozen_at: float | None = None
        self.hits: list[Hit] = []
        self._lock = threading.Lock()
        farm = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                farm._answer(self)

        class Server(ThreadingHTTPServer):
            request_queue_size = 1024  # four workers connect at once
            daemon_threads = True

            def handle_error(self, request: object, client_address: object) -> None:
                pass  # a SIGKILLed worker hangs up mid-request: expected here

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.port = int(self.httpd.server_address[1])
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> FleetFarm:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def freeze(self) -> None:
        self.frozen_at = time.time()

    def url(self, n: int) -> str:
        return f"http://127.0.0.1:{self.port}/f/{n}.xml"

    def version(self, n: int, at: float) -> int:
        """Feed n's latest item number at time ``at`` (staggered over the feeds)."""
        at = min(at, self.frozen_at) if self.frozen_at is not None else at
        return int((at - self.t0) / self.period + (n % 97) / 97) + 1

    def item(self, n: int, v: int) -> tuple[str, str, str]:
        link = f"http://127.0.0.1:{self.port}/a/{n}/{v}.html"
        title = RELEVANT if (n * 7 + v) % self.relevant_every == 0 else NEUTRAL
        return title.format(n=n, v=v), link, link

    def _answer(self, h: BaseHTTPRequestHandler) -> None:
        now = time.time()
        parts = h.path.strip("/").split("/")
        if len(parts) != 2 or parts[0] != "f" or not parts[1].removesuffix(".xml").isdigit():
            h.send_error(404)
            return
        n = int(parts[1].removesuffix(".xml"))
        v = self.version(n, now)
        etag = f'"{n}-{v}"'
        agent = h.headers.get("User-Agent", "")
        if h.headers.get("If-None-Match") == etag:
            self._log(Hit(now, n, agent, 304, ()))
            h.send_response(304)
            h.send_header("ETag", etag)
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        items = [self.item(n, k) for k in (v, v - 1) if k >= 1]
        body = rss(f"Farm feed {n}", items).encode()
        self._log(Hit(now, n, agent, 200, tuple(link for _, link, _ in items)))
        h.send_response(200)
        h.send_header("Content-Type", "application/rss+xml")
        h.send_header("ETag", etag)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            h.wfile.write(body)

    def _log(self, hit: Hit) -> None:
        with self._lock:
            self.hits.append(hit)

    def snapshot(self) -> list[Hit]:
        with self._lock:
            return list(self.hits)
