"""The event loop never waits on the database (issue 16): while another connection holds SQLite's
write lock (a `watcher digest`, a slow disk), a cycle keeps fetching; once the lock goes, every
entry and feed state it found is written, once."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import sqlalchemy as sa

from tests.http_helpers import rss
from tests.server import Server
from watcher import config as config_mod
from watcher.dbthread import DbThread
from watcher.pipeline import CycleReport, run_cycle_async
from watcher.store import open_db
from watcher.store.schema import entries, entry_feeds
from watcher.store.schema import feeds as feeds_table

RSS = {"Content-Type": "application/rss+xml"}
FEEDS = 24


def test_fetches_go_on_while_another_connection_holds_the_write_lock(
    http_server: Server, tmp_path: Path
) -> None:
    db = tmp_path / "w.db"
    lock: list[sqlite3.Connection] = []
    locked = threading.Event()
    first_body = rss([("f0-a", "Zero A"), ("f0-b", "Zero B")])

    def first_feed(h: BaseHTTPRequestHandler) -> None:
        """The first feed's request takes the write lock, as `watcher digest` would, then answers."""
        if not locked.is_set():
            conn = sqlite3.connect(db, timeout=5, isolation_level=None, check_same_thread=False)
            conn.execute("BEGIN IMMEDIATE")
            lock.append(conn)
            locked.set()
        h.send_response(200)
        h.send_header("Content-Type", "application/rss+xml")
        h.send_header("Content-Length", str(len(first_body)))
        h.end_headers()
        h.wfile.write(first_body)

    urls = [http_server.handler("/f0.xml", first_feed)]
    for i in range(1, FEEDS):
        # A little later than the first, so every other answer arrives with the lock held.
        body = rss([(f"f{i}-a", f"Story {i} A"), (f"f{i}-b", f"Story {i} B")])
        urls.append(http_server.route(f"/f{i}.xml", body, headers=RSS, delay=0.2))
    raw = {
        "storage": {"db": str(db)},
        "http": {
            "allow_networks": ["127.0.0.1"],
            "min_host_gap": 0.0,
            "per_host_concurrency": 4,
        },
        "extract": {"fetch_articles": False, "workers": 1, "parse_helper": False},
        "feeds": [{"url": u} for u in urls],
    }
    cfg = config_mod.parse(raw, tmp_path)
    engine = open_db(cfg.db_url)
    result: list[CycleReport] = []
    cycle = threading.Thread(
        target=lambda: result.append(asyncio.run(run_cycle_async(cfg, engine, models=[])))
    )
    cycle.start()
    assert locked.wait(30), "the cycle never fetched its first feed"
    # Hold the lock until every feed has been requested, or 10 s: with the writes on the event
    # loop, the first feed's record blocked the loop and the other feeds waited for the lock.
    deadline = time.monotonic() + 10
    while len(http_server.requests) < FEEDS and time.monotonic() < deadline:
        time.sleep(0.02)
    requested_while_locked = len(http_server.requests)
    written_while_locked = _count(engine)
    lock[0].execute("ROLLBACK")
    lock[0].close()
    cycle.join(60)
    assert not cycle.is_alive()

    assert requested_while_locked == FEEDS  # every fetch went on while the database was locked
    assert written_while_locked == (0, 0)  # and nothing slipped past the lock
    (report,) = result
    assert not report.errors and report.new_entries == 2 * FEEDS
    assert _count(engine) == (2 * FEEDS, 2 * FEEDS)  # every entry, once, each linked to its feed
    with engine.connect() as conn:
        states = conn.execute(sa.select(feeds_table.c.last_status, feeds_table.c.lease_owner))
        assert sorted(states) == [("ok", None)] * FEEDS  # states written, leases released
    engine.dispose()


def _count(engine: sa.Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        n_entries = conn.execute(sa.select(sa.func.count()).select_from(entries)).scalar_one()
        n_links = conn.execute(sa.select(sa.func.count()).select_from(entry_feeds)).scalar_one()
    return int(n_entries), int(n_links)


def test_db_thread_runs_calls_in_order_and_drain_raises_a_failed_batch() -> None:
    seen: list[tuple[str, int]] = []

    def record(tag: str) -> int:
        seen.append((tag, threading.get_ident()))
        return len(seen)

    def broken() -> None:
        raise ValueError("disk full")

    async def go() -> tuple[list[int], str]:
        async with DbThread() as db:
            db.submit(record, "batch")
            answers = await asyncio.gather(*(db.run(record, f"call{i}") for i in range(5)))
            db.submit(broken)
            try:
                await db.drain()
            except ValueError as e:
                return list(answers), str(e)
        return list(answers), ""

    answers, error = asyncio.run(go())
    assert [t for t, _ in seen] == ["batch", "call0", "call1", "call2", "call3", "call4"]
    assert answers == [2, 3, 4, 5, 6] and error == "disk full"
    assert len({ident for _, ident in seen}) == 1 and seen[0][1] != threading.get_ident()
