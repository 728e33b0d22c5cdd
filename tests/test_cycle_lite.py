"""A cycle in which nothing new arrives runs on stdlib sqlite3 and writes what SQLAlchemy writes;
the moment it needs more it hands over (issue 16).  Real SQLite files, a real server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import random
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.http_helpers import raw_response
from tests.server import Server
from watcher import config as config_mod
from watcher import cycle_lite, cycle_store, pipeline
from watcher.config import Config
from watcher.cycle_lite import LiteStore
from watcher.errors import StoreError
from watcher.pipeline import CycleReport, run_cycle_async
from watcher.store import open_db
from watcher.store.schema import SCHEMA_VERSION

START = datetime(2026, 3, 1, 9, 0, 0, tzinfo=UTC)
OWNER = "test-host:1"


@dataclass
class Farm:
    """Feeds that answer 304 to their ETag; one can change (a new item), fail (500) or hang."""

    server: Server
    feeds: int
    versions: dict[int, int] = field(default_factory=dict)
    modes: dict[int, str] = field(default_factory=dict)  # "ok", "error", "slow", "late"

    def __post_init__(self) -> None:
        for f in range(self.feeds):
            self.versions[f] = 1
            self.modes[f] = "ok"
            self.server.handler(f"/feed{f}.xml", self._handler(f))

    def _body(self, f: int) -> bytes:
        items = "".join(
            f"<item><title>Story {f}-{i}</title><link>{self.server.url(f'/page/{f}/{i}')}</link>"
            f"<guid isPermaLink='false'>s{f}-{i}</guid><description>About {f}-{i}</description></item>"
            for i in range(1 + self.versions[f])
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Feed {f}</title><link>http://news.example/</link>{items}</channel></rss>"
        ).encode()

    def _handler(self, f: int) -> Any:
        def handle(h: BaseHTTPRequestHandler) -> None:
            mode = self.modes[f]
            if mode == "slow":
                time.sleep(2.5)  # past the client's read timeout
            if mode == "late":
                time.sleep(0.3)  # answers after the others
            if mode == "error":
                raw_response(500, {})(h)
                return
            etag = f'"feed{f}-v{self.versions[f]}"'
            if h.headers.get("If-None-Match") == etag:
                raw_response(304, {"ETag": etag})(h)
                return
            headers = {"Content-Type": "application/rss+xml", "ETag": etag}
            raw_response(200, headers, self._body(f))(h)

        return handle

    def urls(self) -> list[str]:
        return [self.server.url(f"/feed{f}.xml") for f in range(self.feeds)]


def make_config(tmp: Path, name: str, urls: list[str]) -> Config:
    raw = {
        "storage": {"db": str(tmp / name)},
        "http": {"allow_networks": ["127.0.0.1"], "min_host_gap": 0.0, "read_timeout": 1.0},
        "extract": {"fetch_articles": False, "workers": 1, "parse_helper": False},
        "feeds": [{"url": u, "name": f"Feed {i}"} for i, u in enumerate(urls)],
    }
    return config_mod.parse(raw, tmp)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[datetime]]:
    """One frozen clock for the cycle and both stores, and the schedule's jitter seeded."""
    now = [START]
    for module in (pipeline, cycle_lite, cycle_store):
        monkeypatch.setattr(module, "now_utc", lambda: now[0])
    monkeypatch.setattr(pipeline, "random", SimpleNamespace(Random=Steady))
    yield now


class Steady(random.Random):
    """The schedule's jitter, the same whatever order the feeds' polls end in."""

    def uniform(self, a: float, b: float) -> float:
        return a + (b - a) * 0.3


def run(cfg: Config, store: Any) -> CycleReport:
    return asyncio.run(run_cycle_async(cfg, store, owner=OWNER, models=[]))


def dump(path: Path, table: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as conn:
        return list(conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2"))


def column(path: Path, name: str) -> list[Any]:
    with sqlite3.connect(path) as conn:
        return [r[0] for r in conn.execute(f"SELECT {name} FROM feeds ORDER BY id")]


TABLES = ("feeds", "cycles", "entries", "entry_feeds", "articles", "scores", "matches", "meta")


def copy_db(src: Path, dst: Path) -> None:
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)


def lease(path: Path, feed: int, owner: str, until: datetime) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(
            "UPDATE feeds SET lease_owner = ?, lease_until = ? WHERE id = ?",
            (owner, cycle_lite.stored_time(until), feed),
        )


def test_the_same_cycles_write_the_same_rows_on_both_paths(
    http_server: Server, tmp_path: Path, clock: list[datetime]
) -> None:
    farm = Farm(http_server, feeds=6)
    lite_cfg = make_config(tmp_path, "lite.db", farm.urls())
    full_cfg = make_config(tmp_path, "full.db", farm.urls())
    first_engine = open_db(lite_cfg.db_url)
    first = run(lite_cfg, first_engine)  # the first poll, by the normal path
    first_engine.dispose()
    assert first.new_entries == 12 and not first.errors
    lite_db, full_db = tmp_path / "lite.db", tmp_path / "full.db"
    copy_db(lite_db, full_db)
    full_engine = open_db(full_cfg.db_url)

    def both(label: str) -> tuple[CycleReport, LiteStore]:
        # 20 minutes on, and times with and without microseconds in turn (stored as SQLAlchemy does)
        clock[0] += timedelta(minutes=20, microseconds=250_000 if clock[0].microsecond == 0 else -250_000)
        lite = LiteStore(lite_cfg)
        lite_report = run(lite_cfg, lite)
        full_report = run(full_cfg, full_engine)
        assert [(f.feed, f.status, f.new, f.error) for f in lite_report.feeds] == [
            (f.feed, f.status, f.new, f.error) for f in full_report.feeds
        ], label
        for table in TABLES:
            if table == "meta":
                continue
            assert dump(lite_db, table) == dump(full_db, table), f"{label}: {table}"
        return lite_report, lite

    # 1. Nothing changed: every feed answers 304; the stdlib path does it all.
    report, lite = both("unchanged")
    assert [f.status for f in report.feeds] == ["not_modified"] * 6
    assert lite.handed_over is None
    polled = column(lite_db, "last_polled_at")
    assert set(polled) == {cycle_lite.stored_time(clock[0])}  # written by the stdlib path

    # 2. One feed has a new item: the stdlib path looks it up and records it as SQLAlchemy does.
    farm.versions[2] = 2
    report, lite = both("one changed")
    assert report.new_entries == 1 and lite.handed_over is None

    # 3. One feed fails, another times out; the others answer 304.
    farm.modes[0], farm.modes[4] = "error", "slow"
    report, lite = both("errors")
    assert len(report.errors) == 2 and lite.handed_over is None

    # 4. One feed is leased by another poller until later: neither path touches it.
    farm.modes[0] = farm.modes[4] = "ok"
    until = clock[0] + timedelta(hours=2)
    for path in (lite_db, full_db):
        lease(path, 3, "other-host:9", until)
    report, lite = both("leased elsewhere")
    assert len(report.feeds) == 5 and lite.handed_over is None
    assert column(lite_db, "lease_owner")[2] == "other-host:9"
    assert column(lite_db, "last_polled_at").count(cycle_lite.stored_time(clock[0])) == 5
    full_engine.dispose()


def test_the_schema_version_is_the_stores() -> None:
    assert cycle_lite.SCHEMA_VERSION == SCHEMA_VERSION


def test_a_new_database_a_config_change_and_an_unknown_feed_hand_over(
    http_server: Server, tmp_path: Path
) -> None:
    farm = Farm(http_server, feeds=3)
    cfg = make_config(tmp_path, "w.db", farm.urls()[:2])
    store = LiteStore(cfg)
    report = run(cfg, store)  # no file yet: the store creates and migrates it
    assert report.new_entries == 4 and store.handed_over == "no SQLite file yet"

    store = LiteStore(cfg)
    run(cfg, store)
    assert store.handed_over is None

    grown = make_config(tmp_path, "w.db", farm.urls())  # a feed added to config.toml
    store = LiteStore(grown)
    report = run(grown, store)
    assert store.handed_over == "config.toml's feeds must be synced"
    assert report.new_entries == 2 and len(report.feeds) == 3

    http_server.route("/extra.xml", b"<rss version='2.0'><channel><title>x</title></channel></rss>")
    store = LiteStore(grown)
    asyncio.run(run_cycle_async(grown, store, urls=[http_server.url("/extra.xml")], models=[]))
    assert store.handed_over is not None and "is not in the table yet" in store.handed_over
    urls = [r[1] for r in dump(tmp_path / "w.db", "feeds")]
    assert http_server.url("/extra.xml") in urls

    store = LiteStore(grown)  # --feed for a known feed: the stdlib path
    report = asyncio.run(run_cycle_async(grown, store, urls=[farm.urls()[1]], models=[]))
    assert store.handed_over is None and [f.status for f in report.feeds] == ["not_modified"]


def test_another_schema_version_hands_over(http_server: Server, tmp_path: Path) -> None:
    farm = Farm(http_server, feeds=2)
    cfg = make_config(tmp_path, "w.db", farm.urls())
    engine = open_db(cfg.db_url)
    run(cfg, engine)
    engine.dispose()
    with sqlite3.connect(tmp_path / "w.db") as conn:
        conn.execute(
            "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),)
        )
    store = LiteStore(cfg)
    with pytest.raises(Exception, match="newer than this watcher"):
        run(cfg, store)  # the store's own refusal, as without the lite path
    assert store.handed_over is not None and "schema version" in store.handed_over


def test_a_file_that_is_not_a_database_gets_the_stores_error(tmp_path: Path) -> None:
    (tmp_path / "w.db").write_bytes(b"this is not an SQLite database, just text" * 100)
    cfg = make_config(tmp_path, "w.db", ["http://127.0.0.1:9/feed.xml"])
    store = LiteStore(cfg)
    with pytest.raises(StoreError, match=r"cannot open: file is not a database"):
        run(cfg, store)
    assert store.handed_over is not None and "cannot open the file" in store.handed_over


def test_polls_go_on_while_another_connection_holds_the_write_lock(
    http_server: Server, tmp_path: Path
) -> None:
    farm = Farm(http_server, feeds=8)
    cfg = make_config(tmp_path, "w.db", farm.urls())
    engine = open_db(cfg.db_url)
    run(cfg, engine)
    engine.dispose()
    db = tmp_path / "w.db"
    locked = threading.Event()
    holder: list[sqlite3.Connection] = []

    def take_lock(h: BaseHTTPRequestHandler) -> None:
        """The first feed's request takes the write lock, as a `watcher digest` would, then 304s."""
        conn = sqlite3.connect(db, timeout=5, isolation_level=None, check_same_thread=False)
        conn.execute("BEGIN IMMEDIATE")
        holder.append(conn)
        locked.set()
        raw_response(304, {"ETag": '"feed0-v1"'})(h)

    http_server.handler("/feed0.xml", take_lock)
    for f in range(1, 8):
        farm.modes[f] = "late"  # answered with the lock held
    store = LiteStore(cfg)
    result: list[CycleReport] = []
    cycle = threading.Thread(target=lambda: result.append(run(cfg, store)))
    cycle.start()
    assert locked.wait(30), "the cycle never polled its first feed"
    deadline = time.monotonic() + 10
    while sum(http_server.hits(f"/feed{f}.xml") for f in range(8)) < 16 and time.monotonic() < deadline:
        time.sleep(0.02)
    polled_while_locked = sum(http_server.hits(f"/feed{f}.xml") for f in range(8)) - 8
    written_while_locked = column(db, "last_status").count("not_modified")
    holder[0].execute("ROLLBACK")
    holder[0].close()
    cycle.join(60)
    assert not cycle.is_alive() and store.handed_over is None
    assert polled_while_locked == 8 and written_while_locked == 0
    assert [f.status for f in result[0].feeds] == ["not_modified"] * 8
    assert column(db, "last_status") == ["not_modified"] * 8
    assert column(db, "lease_owner") == [None] * 8
