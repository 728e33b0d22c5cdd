"""When a cycle starts its extraction workers (issue 16): as soon as a feed brings new entries, so
they spawn and warm up while the article pages are fetched, or at the start of a cycle that polls a
feed never polled before (its entries are all new); never for a known feed that brings nothing new,
nor when article fetching is off.  A real server, real worker processes, a real SQLite file."""

from __future__ import annotations

import asyncio
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from tests.extract_helpers import english_page
from tests.server import RawHandler, Route, Server
from watcher import config as config_mod
from watcher.extract_pool import ExtractPool
from watcher.pipeline import CycleReport, run_cycle_async
from watcher.store import open_db

PAGE = english_page().encode()
RSS = {"Content-Type": "application/rss+xml"}


def _feed(server: Server, items: list[int], title: str = "Farm") -> bytes:
    out = "".join(
        f"<item><title>Story {i}</title><link>{server.url(f'/page/{i}.html')}</link>"
        f"<guid>{server.url(f'/page/{i}.html')}</guid><description>Story {i} text</description></item>"
        for i in items
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title>'
        f"<link>{server.url('/')}</link>{out}</channel></rss>"
    ).encode()


def _config(tmp: Path, feed_url: str, *, fetch_articles: bool = True) -> config_mod.Config:
    path = tmp / "config.toml"
    path.write_text(
        f'[storage]\ndb = "{tmp / "w.db"}"\n'
        '[http]\nallow_networks = ["127.0.0.1"]\nmin_host_gap = 0.0\n'
        f"[extract]\nworkers = 1\nfetch_articles = {'true' if fetch_articles else 'false'}\n"
        f'[[feeds]]\nurl = "{feed_url}"\n',
        encoding="utf-8",
    )
    return config_mod.load(path)


def _cycle(cfg: config_mod.Config, pool_seen: list[ExtractPool]) -> CycleReport:
    engine = open_db(cfg.db_url)

    async def run() -> CycleReport:
        async with ExtractPool(cfg.extract) as pool:
            pool_seen.append(pool)
            return await run_cycle_async(cfg, engine, models=[], pool=pool)

    try:
        return asyncio.run(run())
    finally:
        engine.dispose()


def _held_until_a_worker(
    body: bytes, content_type: str, pools: list[ExtractPool], seen: list[list[int]], wait: float
) -> RawHandler:
    """A handler that answers only once the cycle's pool has a worker (or ``wait`` s pass), noting
    the workers it saw: a worker started later than this request would not be there."""

    def handler(h: BaseHTTPRequestHandler) -> None:
        deadline = time.monotonic() + wait
        while not (pools and pools[0].worker_pids()) and time.monotonic() < deadline:
            time.sleep(0.02)
        seen.append(pools[0].worker_pids() if pools else [])
        h.send_response(200)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    return handler


def test_workers_start_when_a_feed_brings_new_entries_before_any_page_arrives(
    http_server: Server, tmp_path: Path
) -> None:
    pools: list[ExtractPool] = []
    workers_at_page_request: list[list[int]] = []

    # Pages are held back until the pool has a worker: with the workers started by the first
    # page's arrival, as before, none would be there to see.
    page = _held_until_a_worker(PAGE, "text/html; charset=utf-8", pools, workers_at_page_request, 10)

    for i in range(2):
        http_server.raw[f"/page/{i}.html"] = page
    http_server.routes["/feed.xml"] = Route(_feed(http_server, [0, 1]), headers=RSS)
    cfg = _config(tmp_path, http_server.url("/feed.xml"))

    report = _cycle(cfg, pools)

    assert report.new_entries == 2 and not report.errors and report.extract_failures == 0
    assert len(workers_at_page_request) == 2
    assert all(len(pids) == 1 for pids in workers_at_page_request)  # running before the page came


def test_a_changed_feed_with_nothing_new_starts_no_worker(http_server: Server, tmp_path: Path) -> None:
    http_server.routes["/page/0.html"] = Route(PAGE)
    http_server.routes["/feed.xml"] = Route(_feed(http_server, [0]), headers=RSS)
    cfg = _config(tmp_path, http_server.url("/feed.xml"))
    first_pools: list[ExtractPool] = []
    first = _cycle(cfg, first_pools)
    assert first.new_entries == 1 and first.extract_workers == 1

    # A 200 with a different body (a new channel title) whose one entry is already stored.
    http_server.routes["/feed.xml"] = Route(
        _feed(http_server, [0], title="Farm, renamed"), headers=RSS
    )
    pools: list[ExtractPool] = []
    again = _cycle(cfg, pools)
    assert [f.status for f in again.feeds] == ["ok"] and again.new_entries == 0
    assert again.extract_workers == 0 and pools[0].worker_pids() == [] and pools[0].restarts == 0


def test_no_worker_starts_when_article_fetching_is_off(http_server: Server, tmp_path: Path) -> None:
    http_server.routes["/feed.xml"] = Route(_feed(http_server, [0, 1]), headers=RSS)
    cfg = _config(tmp_path, http_server.url("/feed.xml"), fetch_articles=False)
    pools: list[ExtractPool] = []
    report = _cycle(cfg, pools)
    assert report.new_entries == 2 and report.extract_workers == 0
    assert pools[0].worker_pids() == []
    assert not any(path.startswith("/page/") for _, path, _ in http_server.requests)


def test_a_feed_never_polled_starts_the_workers_before_it_answers(
    http_server: Server, tmp_path: Path
) -> None:
    pools: list[ExtractPool] = []
    workers_at_feed_request: list[list[int]] = []
    body = _feed(http_server, [0])

    # Held back until the pool has a worker: workers started only once the parsed feed shows
    # new entries would not be there yet.
    feed = _held_until_a_worker(body, "application/rss+xml", pools, workers_at_feed_request, 5)

    http_server.raw["/feed.xml"] = feed
    http_server.routes["/page/0.html"] = Route(PAGE)
    cfg = _config(tmp_path, http_server.url("/feed.xml"))

    report = _cycle(cfg, pools)

    assert report.new_entries == 1 and not report.errors
    assert [len(pids) for pids in workers_at_feed_request] == [1]

    # Polled once: the next cycle waits for what the feed brings (nothing new here) and starts none.
    del http_server.raw["/feed.xml"]
    http_server.routes["/feed.xml"] = Route(body, headers=RSS)
    again_pools: list[ExtractPool] = []
    again = _cycle(cfg, again_pools)
    assert again.new_entries == 0 and not again.errors
    assert again.extract_workers == 0 and again_pools[0].worker_pids() == []
