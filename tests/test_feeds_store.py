"""store.feeds on a real SQLite file: config sync, leases, state after a poll, management."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from watcher.config import FeedConfig, ScheduleConfig
from watcher.models import FetchResult, FetchStatus
from watcher.schedule import after_poll
from watcher.store import feeds as store_feeds
from watcher.store import open_db
from watcher.store.feeds import FeedError
from watcher.store.schema import feeds as feeds_table

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
A, B, C = "http://a.example/feed", "http://b.example/feed", "http://c.example/feed"


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    """The store on a fresh SQLite file, then on a fresh PostgreSQL database (issue 13)."""
    engine = open_db(db_url)
    yield engine
    engine.dispose()


def test_sync_inserts_updates_and_disables(engine: sa.Engine) -> None:
    store_feeds.sync_config_feeds(
        engine, [FeedConfig(A, "A"), FeedConfig(B, "B", interval=60)], NOW
    )
    feeds = {f.url: f for f in store_feeds.list_feeds(engine)}
    assert set(feeds) == {A, B} and feeds[B].interval == 60 and feeds[A].source == "config"
    store_feeds.sync_config_feeds(engine, [FeedConfig(A, "Renamed", enabled=False)], NOW)
    feeds = {f.url: f for f in store_feeds.list_feeds(engine)}
    assert feeds[A].name == "Renamed" and not feeds[A].enabled
    assert not feeds[B].enabled  # dropped from config: kept, disabled
    store_feeds.sync_config_feeds(engine, [FeedConfig(A), FeedConfig(B)], NOW)
    assert all(f.enabled for f in store_feeds.list_feeds(engine))


def test_sync_is_skipped_while_config_feeds_are_unchanged_and_runs_when_they_change(
    engine: sa.Engine,
) -> None:
    """Issue 16: an unchanged config.toml costs one meta read, not a read of every feed row."""
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", seen)
    configured = [FeedConfig(A, "A"), FeedConfig(B, "B", interval=60)]
    store_feeds.sync_config_feeds(engine, configured, NOW)
    first = list(statements)
    statements.clear()
    store_feeds.sync_config_feeds(engine, list(configured), NOW)
    again = list(statements)
    statements.clear()
    # each field the sync writes, changed alone, makes the next one run
    for changed in (
        [FeedConfig(A, "A"), FeedConfig(B, "B", interval=120)],
        [FeedConfig(A, "A"), FeedConfig(B, "B", interval=120, enabled=False)],
        [FeedConfig(A, "A2"), FeedConfig(B, "B", interval=120, enabled=False)],
        [FeedConfig(A, "A2")],
    ):
        store_feeds.sync_config_feeds(engine, changed, NOW)
    sa.event.remove(engine, "before_cursor_execute", seen)

    assert any("FROM feeds" in q for q in first)
    assert not any("feeds" in q.replace("config_feeds", "") for q in again), again
    assert len(again) == 1  # the hash, from meta
    feeds = {f.url: f for f in store_feeds.list_feeds(engine)}
    assert feeds[A].name == "A2" and feeds[A].enabled
    assert feeds[B].interval == 120 and not feeds[B].enabled  # changed, then dropped: disabled


def test_claim_due_respects_next_poll_enabled_retired(engine: sa.Engine) -> None:
    store_feeds.sync_config_feeds(engine, [FeedConfig(A), FeedConfig(B), FeedConfig(C)], NOW)
    with engine.begin() as conn:
        conn.execute(
            sa.update(feeds_table)
            .where(feeds_table.c.url == B)
            .values(next_poll_at=NOW + timedelta(hours=1))
        )
        conn.execute(sa.update(feeds_table).where(feeds_table.c.url == C).values(retired=True))
    due = store_feeds.claim_due(engine, now=NOW, owner="p1", lease_seconds=600)
    assert [f.url for f in due] == [A]
    # the one-shot fetch ignores next_poll_at, still not retired ones; A is leased by p1
    everything = store_feeds.claim_due(
        engine, now=NOW, owner="p2", lease_seconds=600, due_only=False
    )
    assert [f.url for f in everything] == [B]


def test_two_pollers_never_share_a_feed(engine: sa.Engine) -> None:
    store_feeds.sync_config_feeds(
        engine, [FeedConfig(f"http://f{i}.example/") for i in range(40)], NOW
    )
    results: dict[str, list[str]] = {}

    def worker(name: str) -> None:
        got: list[str] = []
        for _ in range(10):
            got += [
                f.url
                for f in store_feeds.claim_due(
                    engine, now=NOW, owner=name, lease_seconds=60, limit=3
                )
            ]
        results[name] = got

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    claimed = [u for got in results.values() for u in got]
    assert len(claimed) == len(set(claimed)) == 40


def test_lease_expires_and_release_frees(engine: sa.Engine) -> None:
    store_feeds.sync_config_feeds(engine, [FeedConfig(A)], NOW)
    (feed,) = store_feeds.claim_due(engine, now=NOW, owner="p1", lease_seconds=60)
    assert (
        store_feeds.claim_due(engine, now=NOW + timedelta(seconds=30), owner="p2", lease_seconds=60)
        == []
    )
    later = store_feeds.claim_due(
        engine, now=NOW + timedelta(seconds=61), owner="p2", lease_seconds=60
    )
    assert [f.url for f in later] == [A]  # a crashed poller's lease runs out
    assert feed.id is not None
    with engine.begin() as conn:
        store_feeds.release(conn, feed.id)
    assert store_feeds.claim_due(
        engine, now=NOW + timedelta(seconds=62), owner="p3", lease_seconds=60
    )


def test_claim_urls_creates_cli_rows_and_finds_moved(engine: sa.Engine) -> None:
    store_feeds.sync_config_feeds(engine, [FeedConfig(A)], NOW)
    with engine.begin() as conn:
        conn.execute(
            sa.update(feeds_table).values(current_url="http://a.example/new", retired=True)
        )
    got = store_feeds.claim_due(
        engine, now=NOW, owner="p", lease_seconds=60, urls=["http://a.example/new", B]
    )
    assert sorted(f.url for f in got) == [A, B]
    assert store_feeds.get_feed(engine, B).source == "cli"  # type: ignore[union-attr]


def test_apply_update_round_trip(engine: sa.Engine) -> None:
    store_feeds.sync_config_feeds(engine, [FeedConfig(A)], NOW)
    (feed,) = store_feeds.claim_due(engine, now=NOW, owner="p", lease_seconds=60)
    new = "http://a.example/moved"
    result = FetchResult(
        A, FetchStatus.MOVED, final_url=new, http_status=200, etag='"x"', permanent_url=new
    )
    update = after_poll(
        feed, result, new_entries=2, known_entries=0, publish_times=[NOW], now=NOW,
        cfg=ScheduleConfig(), rng=random.Random(1), body_hash="abc",
    )  # fmt: skip
    assert feed.id is not None
    with engine.begin() as conn:
        store_feeds.apply_update(conn, feed.id, update)
    stored = store_feeds.get_feed(engine, new)
    assert stored is not None and stored.url == A and stored.fetch_url == new
    assert (stored.etag, stored.body_hash, stored.last_status) == ('"x"', "abc", "moved")
    assert stored.next_poll_at == update.next_poll_at and stored.last_success_at == NOW
    # the lease is gone with the update
    assert store_feeds.claim_due(engine, now=NOW, owner="q", lease_seconds=60, due_only=False)


def test_management_add_remove_enable_disable(engine: sa.Engine) -> None:
    store_feeds.sync_config_feeds(engine, [FeedConfig(A)], NOW)
    added = store_feeds.add_feed(engine, B, name="Bee", now=NOW)
    assert added.source == "added" and added.enabled
    with pytest.raises(FeedError, match="already"):
        store_feeds.add_feed(engine, A, name="", now=NOW)
    with pytest.raises(FeedError, match=r"config\.toml"):
        store_feeds.remove_feed(engine, A)
    with pytest.raises(FeedError, match=r"config\.toml"):
        store_feeds.set_enabled(engine, A, False, now=NOW)
    assert not store_feeds.set_enabled(engine, B, False, now=NOW).enabled
    with engine.begin() as conn:
        conn.execute(
            sa.update(feeds_table).where(feeds_table.c.url == B).values(retired=True, failures=4)
        )
    back = store_feeds.set_enabled(engine, B, True, now=NOW)
    assert back.enabled and not back.retired and back.failures == 0 and back.next_poll_at == NOW
    store_feeds.remove_feed(engine, B)
    assert store_feeds.get_feed(engine, B) is None
    with pytest.raises(FeedError, match="not a feed"):
        store_feeds.remove_feed(engine, C)


def test_health_counts(engine: sa.Engine) -> None:
    store_feeds.sync_config_feeds(engine, [FeedConfig(A, "Alpha")], NOW)
    (row,) = store_feeds.health(engine)
    assert (
        row.status == "new" and row.entries == 0 and row.matches == 0 and row.feed.name == "Alpha"
    )
