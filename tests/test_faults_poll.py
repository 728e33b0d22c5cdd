"""Fault injection, end to end: a real HTTP server on 127.0.0.1, run_cycle, a real SQLite file.

Every case asserts the feed's stored state and that, once the feed recovers, every entry it served
is stored exactly once (nothing lost, nothing duplicated).
"""

from __future__ import annotations

import gzip
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.http_helpers import gzip_bomb, hang, raw_response, reset_connection, rss
from tests.server import Server
from watcher import config as config_mod
from watcher.models import Feed
from watcher.pipeline import CycleReport, run_cycle
from watcher.store import feeds as store_feeds
from watcher.store import open_db
from watcher.store.schema import feeds as feeds_table

pytestmark = pytest.mark.slow
RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}
AB = [("a", "Alpha"), ("b", "Beta")]
ABC = [*AB, ("c", "Gamma")]


@dataclass
class World:
    server: Server
    tmp: Path
    engine: sa.Engine | None = None

    def cfg(self, feed_path: str, **http: Any) -> config_mod.Config:
        raw: dict[str, Any] = {
            "storage": {"db": str(self.tmp / "w.db")},
            "http": {
                "allow_networks": ["127.0.0.1"], "min_host_gap": 0.0, "connect_timeout": 2,
                "read_timeout": 2, **http,
            },
            "extract": {"fetch_articles": False, "workers": 1},
            "schedule": {"min_interval": "10m", "max_interval": "6h", "backoff_cap": "24h"},
            "feeds": [{"url": self.server.url(feed_path), "name": "F"}],
        }  # fmt: skip
        cfg = config_mod.parse(raw, self.tmp)
        if self.engine is None:
            self.engine = open_db(cfg.db_url)
        return cfg

    def poll(self, cfg: config_mod.Config) -> CycleReport:
        assert self.engine is not None
        return run_cycle(cfg, self.engine, due_only=False)

    def feed(self, url_path: str) -> Feed:
        assert self.engine is not None
        feed = store_feeds.get_feed(self.engine, self.server.url(url_path))
        assert feed is not None
        return feed

    def row(self, url_path: str) -> Any:
        assert self.engine is not None
        with self.engine.connect() as conn:
            return conn.execute(
                sa.select(feeds_table).where(feeds_table.c.url == self.server.url(url_path))
            ).one()

    def entries(self) -> list[str]:
        with sqlite3.connect(self.tmp / "w.db") as conn:
            return sorted(r[0] for r in conn.execute("SELECT guid FROM entries"))

    def serve(self, path: str, body: bytes, **kw: Any) -> None:
        self.server.raw.pop(path, None)
        self.server.route(path, body, **kw)


@pytest.fixture
def world(http_server: Server, tmp_path: Path) -> Iterator[World]:
    w = World(http_server, tmp_path)
    yield w
    if w.engine is not None:
        w.engine.dispose()


def recover(world: World, cfg: config_mod.Config, path: str, feed_path: str | None = None) -> None:
    """Serve a healthy feed (a, b, c) again: after one more poll the feed is healthy, and every
    entry served in the test (before the fault and now) is stored exactly once."""
    before = world.entries()
    world.serve(path, rss(ABC), headers=RSS)
    report = world.poll(cfg)
    assert not report.errors, report.errors
    assert report.new_entries == len({"a", "b", "c"} - set(before))
    assert world.entries() == sorted({*before, "a", "b", "c"})  # a list: a duplicate would show
    feed = world.feed(feed_path or path)
    assert feed.failures == 0 and feed.last_error is None
    assert feed.last_status in ("ok", "moved", "not_modified")
    assert feed.next_poll_at is not None and not feed.retired


def conditional(body: bytes, etag: str) -> Any:
    def handle(h: BaseHTTPRequestHandler) -> None:
        if h.headers.get("If-None-Match") == etag:
            raw_response(304, {"ETag": etag})(h)
        else:
            raw_response(200, {**RSS, "ETag": etag}, body)(h)

    return handle


def test_304_skips_and_keeps_state(world: World) -> None:
    world.server.handler("/f", conditional(rss(AB), '"v1"'))
    cfg = world.cfg("/f")
    assert world.poll(cfg).new_entries == 2
    report = world.poll(cfg)
    assert report.new_entries == 0 and report.feeds[0].status == "not_modified"
    assert world.server.requests[-1][2]["If-None-Match"] == '"v1"'
    row = world.row("/f")
    assert (row.last_status, row.last_http_status, row.etag, row.failures) == (
        "not_modified",
        304,
        '"v1"',
        0,
    )
    assert world.entries() == ["a", "b"]
    recover(world, cfg, "/f")


def test_unchanged_200_skips_parsing_and_lying_validators_are_bypassed(world: World) -> None:
    world.serve("/f", rss(AB), headers={**RSS, "ETag": '"same"'})
    cfg = world.cfg("/f")
    world.poll(cfg)
    hash_before = world.row("/f").body_hash
    report = world.poll(cfg)  # the server ignores If-None-Match and sends the same bytes
    assert report.feeds[0].status == "not_modified" and world.row("/f").body_hash == hash_before
    # The feed changes but the server keeps answering 304 to the old ETag: only an
    # unconditional fetch (due every 12 h) sees the new item.
    world.server.handler("/f", conditional(rss(ABC), '"same"'))
    world.poll(cfg)
    assert world.entries() == ["a", "b"]
    assert world.engine is not None
    with world.engine.begin() as conn:
        old = datetime.now(UTC) - timedelta(hours=13)
        conn.execute(sa.update(feeds_table).values(last_unconditional_at=old))
    assert world.poll(cfg).new_entries == 1
    assert "If-None-Match" not in world.server.requests[-1][2]
    assert world.entries() == ["a", "b", "c"]
    assert world.row("/f").last_unconditional_at > old.replace(tzinfo=None)
    recover(world, cfg, "/f")


@pytest.mark.parametrize("code", [301, 308])
def test_permanent_redirect_moves_the_feed(world: World, code: int) -> None:
    world.serve("/old", b"", status=code, headers={"Location": "/new"})
    world.serve("/new", rss(AB), headers=RSS)
    cfg = world.cfg("/old")
    report = world.poll(cfg)
    assert report.feeds[0].status == "moved" and report.new_entries == 2
    feed = world.feed("/old")
    assert feed.current_url == world.server.url("/new") and world.row("/old").last_status == "moved"
    world.poll(cfg)
    assert (
        world.server.hits("/old") == 1 and world.server.hits("/new") == 2
    )  # polls go to the new URL
    recover(world, cfg, "/new")


@pytest.mark.parametrize("code", [302, 307])
def test_temporary_redirect_keeps_the_url(world: World, code: int) -> None:
    world.serve("/old", b"", status=code, headers={"Location": "/tmp"})
    world.serve("/tmp", rss(AB), headers=RSS)
    cfg = world.cfg("/old")
    world.poll(cfg)
    world.poll(cfg)
    assert world.feed("/old").current_url is None and world.server.hits("/old") == 2
    assert world.entries() == ["a", "b"]
    recover(world, cfg, "/tmp", "/old")


def test_redirect_loop_is_a_failure_not_a_hang(world: World) -> None:
    world.serve("/loop1", b"", status=302, headers={"Location": "/loop2"})
    world.serve("/loop2", b"", status=302, headers={"Location": "/loop1"})
    cfg = world.cfg("/loop1")
    report = world.poll(cfg)
    assert report.feeds[0].status == "too_many_redirects" and "loop" in (
        report.feeds[0].error or ""
    )
    row = world.row("/loop1")
    assert row.failures == 1 and row.next_poll_at is not None and world.entries() == []
    world.serve("/loop1", rss(AB), headers=RSS)
    recover(world, cfg, "/loop1")


def test_410_retires_until_re_enabled(world: World) -> None:
    world.serve("/f", rss(AB), headers=RSS)
    cfg = world.cfg("/f")
    world.poll(cfg)
    world.serve("/f", b"gone", status=410)
    report = world.poll(cfg)
    assert report.feeds[0].status == "gone"
    row = world.row("/f")
    assert row.retired and row.next_poll_at is None and row.last_http_status == 410
    hits = world.server.hits("/f")
    assert world.poll(cfg).feeds == [] and world.server.hits("/f") == hits  # no more polls
    assert world.engine is not None
    store_feeds.set_enabled(world.engine, world.server.url("/f"), True, now=datetime.now(UTC))
    recover(world, cfg, "/f")
    assert not world.row("/f").retired


@pytest.mark.parametrize("form", ["seconds", "http-date"])
@pytest.mark.parametrize("code", [429, 503])
def test_rate_limits_honour_retry_after(world: World, code: int, form: str) -> None:
    world.serve("/f", rss(AB), headers=RSS)
    cfg = world.cfg("/f")
    world.poll(cfg)
    when = (datetime.now(UTC) + timedelta(hours=3)).replace(microsecond=0)
    value = "10800" if form == "seconds" else format_datetime(when, usegmt=True)
    world.serve("/f", b"slow down", status=code, headers={"Retry-After": value})
    report = world.poll(cfg)
    assert report.feeds[0].status == "rate_limited"
    row = world.row("/f")
    next_at = row.next_poll_at.replace(tzinfo=UTC)
    assert abs((next_at - when).total_seconds()) < 5 and row.failures == 1
    # not due before then
    assert world.engine is not None
    due = store_feeds.claim_due(world.engine, now=datetime.now(UTC), owner="t", lease_seconds=1)
    assert due == []
    recover(world, cfg, "/f")


def test_503_without_retry_after_backs_off(world: World) -> None:
    world.serve("/f", b"", status=503)
    cfg = world.cfg("/f")
    before = datetime.now(UTC)
    world.poll(cfg)
    row = world.row("/f")
    wait = (row.next_poll_at.replace(tzinfo=UTC) - before).total_seconds()
    # backs off: not retried within minutes, but well before the 24 h cap
    assert row.last_status == "rate_limited" and 300 <= wait <= 3600 and row.failures == 1
    assert world.engine is not None
    due = store_feeds.claim_due(world.engine, now=datetime.now(UTC), owner="t", lease_seconds=1)
    assert due == []
    recover(world, cfg, "/f")


def test_500_backs_off_exponentially_and_resets(world: World) -> None:
    world.serve("/f", rss(AB), headers=RSS)
    cfg = world.cfg("/f")
    world.poll(cfg)
    world.serve("/f", b"oops", status=500)
    waits = []
    for expected in (1, 2, 3):
        start = datetime.now(UTC)
        report = world.poll(cfg)
        row = world.row("/f")
        assert report.feeds[0].status == "http_error" and row.failures == expected
        assert "500" in row.last_error and row.last_success_at is not None
        waits.append((row.next_poll_at.replace(tzinfo=UTC) - start).total_seconds())
    assert waits[0] < waits[1] < waits[2] <= 24 * 3600
    recover(world, cfg, "/f")
    assert world.row("/f").first_failure_at is None


def test_timeout(world: World) -> None:
    world.server.handler("/f", hang(1.5))
    cfg = world.cfg("/f", read_timeout=0.3)
    report = world.poll(cfg)
    assert report.feeds[0].status == "timeout" and world.row("/f").failures == 1
    recover(world, cfg, "/f")


def test_reset_connection(world: World) -> None:
    world.server.handler("/f", reset_connection)
    cfg = world.cfg("/f")
    assert world.poll(cfg).feeds[0].status == "connection_error"
    assert world.row("/f").last_error
    recover(world, cfg, "/f")


def test_oversized_body(world: World) -> None:
    world.server.handler("/f", raw_response(200, RSS, rss(AB) + b" " * 5000, chunked=True))
    cfg = world.cfg("/f", max_body_bytes=2048)
    report = world.poll(cfg)
    assert report.feeds[0].status == "too_large" and world.entries() == []
    assert world.row("/f").failures == 1
    world.server.raw.pop("/f")
    recover(world, cfg, "/f")


def test_gzip_bomb(world: World) -> None:
    world.server.handler(
        "/f", raw_response(200, {**RSS, "Content-Encoding": "gzip"}, gzip_bomb(32 << 20))
    )
    cfg = world.cfg("/f", max_body_bytes=1 << 20)
    assert world.poll(cfg).feeds[0].status == "too_large"
    assert world.row("/f").failures == 1 and world.entries() == []
    # a well-behaved gzip body still works, and the feed is healthy again
    world.server.handler(
        "/f", raw_response(200, {**RSS, "Content-Encoding": "gzip"}, gzip.compress(rss(ABC)))
    )
    report = world.poll(cfg)
    assert not report.errors and report.new_entries == 3 and world.entries() == ["a", "b", "c"]
    assert world.row("/f").failures == 0 and world.row("/f").last_status == "ok"


def test_wrong_charset_header(world: World) -> None:
    body = rss([("r1", "Мигранты"), ("r2", "Беженцы")], encoding="windows-1251")
    world.serve("/f", body, headers={"Content-Type": "text/xml; charset=utf-8"})
    cfg = world.cfg("/f")
    report = world.poll(cfg)
    assert report.feeds[0].status == "ok" and report.new_entries == 2
    with sqlite3.connect(world.tmp / "w.db") as conn:
        titles = sorted(r[0] for r in conn.execute("SELECT title FROM entries"))
    assert titles == ["Беженцы", "Мигранты"]
    assert world.row("/f").warning  # the mismatch is recorded
    recover(world, cfg, "/f")
    assert world.entries() == ["a", "b", "c", "r1", "r2"]
    assert world.row("/f").warning is None  # a clean body clears it


def test_html_instead_of_feed(world: World) -> None:
    page = (
        b'<!doctype html><html><head><link rel="alternate" type="application/atom+xml" '
        b'href="/atom"></head></html>'
    )
    world.serve("/f", page, headers={"Content-Type": "text/html"})
    cfg = world.cfg("/f")
    report = world.poll(cfg)
    assert report.feeds[0].status == "not_a_feed"
    row = world.row("/f")
    assert row.failures == 1 and world.server.url("/atom") in row.last_error
    recover(world, cfg, "/f")


def test_bozo_feed_keeps_entries(world: World) -> None:
    broken = rss(AB).replace(b"</channel></rss>", b"<item><title>cut off")
    world.serve("/f", broken, headers=RSS)
    cfg = world.cfg("/f")
    report = world.poll(cfg)
    assert report.feeds[0].status == "ok" and not report.errors
    # every entry is accounted for: the two whole items, and the cut-off one (whose title the
    # recovering parser drops) once
    with sqlite3.connect(world.tmp / "w.db") as conn:
        titles = sorted(r[0] for r in conn.execute("SELECT title FROM entries"))
    assert titles == ["", "Alpha", "Beta"] and world.row("/f").warning
    recover(world, cfg, "/f")
    assert len(world.entries()) == 4 and world.row("/f").warning is None
