"""Issue 13, the store side of a fleet: migrations under a lock, SKIP LOCKED claims, worker rows,
the scheduled digest's slot, the shared host gap and the digest sender lock — on SQLite and on a real
PostgreSQL (``db_url`` runs each test on both)."""

from __future__ import annotations

import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from watcher import store
from watcher.config import FeedConfig
from watcher.errors import StoreError
from watcher.store import digests as store_digests
from watcher.store import feeds as store_feeds
from watcher.store import workers as store_workers
from watcher.store.schema import feeds, meta

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _feeds(engine: sa.Engine, n: int) -> None:
    store_feeds.sync_config_feeds(
        engine, [FeedConfig(url=f"http://127.0.0.1:9/f/{i}.xml") for i in range(n)], NOW
    )


def test_schema_is_current_and_a_newer_one_is_refused(db_url: str) -> None:
    engine = store.open_db(db_url)
    with engine.begin() as conn:
        assert store.schema_version(conn) == store.SCHEMA_VERSION
        assert {"workers", "hosts", "digest_slots"} <= set(sa.inspect(conn).get_table_names())
        conn.execute(sa.update(meta).where(meta.c.key == "schema_version").values(value="99"))
    engine.dispose()
    with pytest.raises(StoreError, match="schema version 99 is newer"):
        store.open_db(db_url)


def test_workers_started_at_once_migrate_once(pg_url: str) -> None:
    """Eight processes' worth of engines open a new database together: one migrates, none fails."""
    def open_one(_: int) -> int:
        engine = store.open_db(pg_url)
        with engine.connect() as conn:
            version = store.schema_version(conn)
        engine.dispose()
        return version

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(open_one, range(8))) == [store.SCHEMA_VERSION] * 8
    engine = store.connect(pg_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(meta).where(meta.c.key == "schema_version")).all()
    engine.dispose()
    assert len(rows) == 1


def test_concurrent_claimers_get_disjoint_batches(db_url: str) -> None:
    """Eight claimers at once, batches of 40 over 300 due feeds: every feed claimed exactly once."""
    setup = store.open_db(db_url)
    _feeds(setup, 300)
    setup.dispose()
    start = threading.Barrier(8)

    def claimer(k: int) -> list[int]:
        engine = store.open_db(db_url)
        got: list[int] = []
        start.wait()
        while True:
            batch = store_feeds.claim_due(
                engine, now=NOW, owner=f"w{k}", lease_seconds=600, limit=40
            )
            if not batch:
                break
            got.extend(f.id for f in batch if f.id is not None)
        engine.dispose()
        return got

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(claimer, range(8)))
    claimed = [i for r in results for i in r]
    assert len(claimed) == 300 and len(set(claimed)) == 300
    if db_url.startswith("postgresql"):  # SKIP LOCKED: the load is shared, not taken by one
        assert sum(1 for r in results if r) >= 2


def test_worker_rows_beat_and_go(db_url: str) -> None:
    engine = store.open_db(db_url)
    store_workers.register(engine, "hostA:1:aa", NOW)
    store_workers.register(engine, "hostB:2:bb", NOW - timedelta(minutes=5))
    later = NOW + timedelta(seconds=10)
    assert store_workers.beat(engine, "hostA:1:aa", later, {"last_cycle": {"feeds": 3}}) == (
        store.SCHEMA_VERSION
    )
    rows = {w.id: w for w in store_workers.list_workers(engine)}
    assert rows["hostA:1:aa"].heartbeat == later and rows["hostA:1:aa"].live(later)
    assert rows["hostA:1:aa"].state["last_cycle"] == {"feeds": 3}
    assert not rows["hostB:2:bb"].live(later)  # five minutes silent: gone
    _feeds(engine, 3)
    store_feeds.claim_due(engine, now=NOW, owner="hostA:1:aa", lease_seconds=600)
    store_workers.unregister(engine, "hostA:1:aa")
    assert [w.id for w in store_workers.list_workers(engine)] == ["hostB:2:bb"]
    with engine.connect() as conn:  # a cycle cut short may have fetched them: leases run out
        held = conn.execute(sa.select(sa.func.count()).where(feeds.c.lease_owner == "hostA:1:aa"))
        assert held.scalar_one() == 3
    engine.dispose()


def test_a_scheduled_digest_is_taken_by_one_worker(db_url: str) -> None:
    setup = store.open_db(db_url)
    setup.dispose()
    slot = NOW.replace(hour=7)
    start = threading.Barrier(6)

    def take(k: int) -> bool:
        engine = store.open_db(db_url)
        start.wait()
        won = store_workers.claim_digest_slot(engine, slot, f"w{k}", NOW)
        engine.dispose()
        return won

    with ThreadPoolExecutor(6) as pool:
        assert sorted(pool.map(take, range(6))) == [False] * 5 + [True]
    engine = store.open_db(db_url)
    assert store_workers.claim_digest_slot(engine, slot + timedelta(days=1), "w9", NOW)
    engine.dispose()


def test_the_host_gap_holds_across_workers(db_url: str) -> None:
    """Four engines (workers) reserve 5 starts each to one host: starts come a gap apart."""
    setup = store.open_db(db_url)
    setup.dispose()
    gap = 0.1
    engines = [store.open_db(db_url) for _ in range(4)]
    starts: list[float] = []
    lock = threading.Lock()

    def reserve(engine: sa.Engine) -> None:
        for _ in range(5):
            with engine.begin() as conn:
                delay = store_workers.reserve_host(conn, "news.example", gap)
            with lock:  # as the Fetcher does: sleep `delay` from when the answer came
                starts.append(time.time() + delay)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(reserve, engines))
    for e in engines:
        e.dispose()
    starts.sort()
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert len(starts) == 20
    # Each worker alone would span 4 gaps; the fleet spans 19.  Each start carries the commit's
    # few milliseconds of noise.
    assert starts[-1] - starts[0] >= 19 * gap * 0.9
    assert min(gaps) >= gap * 0.5


def test_the_digest_sender_lock_admits_one_at_a_time(db_url: str) -> None:
    setup = store.open_db(db_url)
    setup.dispose()
    inside = 0
    most = 0
    lock = threading.Lock()

    def send(_: int) -> None:
        nonlocal inside, most
        engine = store.open_db(db_url)
        with store_digests.sender_lock(engine):
            with lock:
                inside += 1
                most = max(most, inside)
            time.sleep(0.05)
            with lock:
                inside -= 1
        engine.dispose()

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(send, range(4)))
    assert most == 1
