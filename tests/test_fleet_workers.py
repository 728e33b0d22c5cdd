"""Issue 13, point 5: four `watcher run` workers on one PostgreSQL over 2,000 feeds whose items keep
coming; one is SIGKILLed mid-cycle.  Every item served is stored once, no feed is fetched twice within
an interval, the dead worker's feeds are taken over within lease + interval, and each match is in
exactly one sent digest (the scheduled one sent by one worker, then three `watcher digest` at once).

Also (issue 17, point 5): two processes claiming feeds at once on one SQLite file and on PostgreSQL
never fetch a feed twice.
"""

from __future__ import annotations

import collections
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.farm import write_config
from tests.fleet_farm import FleetFarm
from tests.server import Server
from watcher import digest as digest_mod
from watcher import store

FEEDS = 2000
INTERVAL = 10.0  # every feed's interval (min = max): a feed is due every 9-11 s (jitter)
LEASE = 12.0
PERIOD = 30.0  # each feed publishes an item every 30 s, the feeds staggered
WORKERS = 4


def _env() -> dict[str, str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("WATCHER_CONFIG", None)
    env.pop("WATCHER_DB", None)
    return env


def _settings(agent: str) -> list[str]:
    sets = [
        f'http.user_agent="{agent}"',
        "http.per_host_concurrency=16",
        "http.concurrency=32",
        "extract.fetch_articles=false",
        "extract.parse_helper=false",
    ]
    return [a for s in sets for a in ("--set", s)]


def start_worker(config: Path, db: str, agent: str, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "watcher", "run", "--config", str(config), "--db", db, *_settings(agent)],
            cwd=config.parent,
            env=_env(),
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )


def wait_for(cond: Callable[[], bool], timeout: float, what: str, logs: list[Path]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.25)
    tails = "\n".join(p.read_text(errors="replace")[-1500:] for p in logs if p.exists())
    raise AssertionError(f"timed out waiting for {what}\n{tails}")


def scalar(engine: sa.Engine, sql: str, **params: object) -> object:
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar()


def rows(engine: sa.Engine, sql: str, **params: object) -> list[sa.Row[tuple[object, ...]]]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text(sql), params))


@pytest.mark.slow
def test_four_workers_share_one_postgresql_and_survive_a_sigkill(pg_url: str, tmp_path: Path) -> None:
    farm = FleetFarm(FEEDS, PERIOD).start()
    procs: dict[str, subprocess.Popen[bytes]] = {}
    logs = [tmp_path / f"w{i}.log" for i in range(WORKERS)]
    try:
        start_at = datetime.now(UTC)
        digest_at = (start_at + timedelta(seconds=45)).strftime("%H:%M:%S")
        extra = (
            f"[schedule]\npoll_interval = 1\nmin_interval = {INTERVAL}\nmax_interval = {INTERVAL}\n"
            f'lease = {LEASE}\nclaim_batch = 100\ndigest_at = "{digest_at}"\ntimezone = "UTC"\n'
        )
        config = write_config(tmp_path, [(f"farm {n}", farm.url(n)) for n in range(FEEDS)], extra)
        engine = store.open_db(pg_url)  # migrated once here; the workers find it current
        for i in range(WORKERS):
            procs[f"fleet-w{i}"] = start_worker(config, pg_url, f"fleet-w{i}", logs[i])

        def everyone_polled() -> bool:
            return {h.feed for h in farm.snapshot()} == set(range(FEEDS))

        wait_for(lambda: scalar(engine, "select count(*) from workers") == WORKERS, 90, "4 workers", logs)
        wait_for(everyone_polled, 120, "a first poll of every feed", logs)
        # The load is shared: every worker polls (one that started late joins at the next round).
        wait_for(lambda: len({h.agent for h in farm.snapshot()}) == WORKERS, 60, "all polling", logs)

        # SIGKILL a worker while it holds leases (mid-cycle).
        victim = procs["fleet-w3"]
        victim_id = str(scalar(engine, "select id from workers where pid = :pid", pid=victim.pid))
        time.sleep(8)
        wait_for(
            lambda: bool(scalar(engine, "select count(*) from feeds where lease_owner = :o", o=victim_id)),
            30,
            "the victim holding leases",
            logs,
        )
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        killed_at = time.time()
        orphaned = {
            int(str(r[0]).rsplit("/", 1)[1].removesuffix(".xml"))
            for r in rows(engine, "select url from feeds where lease_owner = :o", o=victim_id)
        }
        assert orphaned
        time.sleep(LEASE + INTERVAL + 6)

        farm.freeze()
        frozen = time.time()
        wait_for(
            lambda: {h.feed for h in farm.snapshot() if h.at > frozen + 1} == set(range(FEEDS)),
            60,
            "every feed polled after the farm froze",
            logs,
        )
        time.sleep(2)  # the last batch's states are written
        for agent, p in procs.items():
            if agent != "fleet-w3":
                p.send_signal(signal.SIGTERM)
        for agent, p in procs.items():
            if agent != "fleet-w3":
                assert p.wait(30) == 0, logs[int(agent[-1])].read_text()[-2000:]

        # Three `watcher digest` at once after the workers: each match still goes out once.
        diggers = [
            subprocess.Popen(
                [sys.executable, "-m", "watcher", "digest", "--config", str(config), "--db", pg_url],
                cwd=tmp_path,
                env=_env(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            for _ in range(3)
        ]
        for d in diggers:
            _, err = d.communicate(timeout=120)
            assert d.returncode == 0, err.decode(errors="replace")
        hits = farm.snapshot()
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait(10)
        farm.stop()

    # Every item the farm served is stored, once.
    served = {link for h in hits if h.status == 200 for link in h.links}
    stored = [str(r[0]) for r in rows(engine, "select link from entries")]
    assert len(stored) == len(set(stored))
    assert set(stored) == served, (len(served - set(stored)), len(set(stored) - served))

    # No feed fetched twice within one interval (nor by two workers at once).
    by_feed: dict[int, list[float]] = collections.defaultdict(list)
    for h in hits:
        by_feed[h.feed].append(h.at)
    closest = min((b - a, n) for n, times in by_feed.items() for a, b in itertools.pairwise(sorted(times)))
    twice = [(round(h.at - killed_at, 2), h.agent, h.status) for h in hits if h.feed == closest[1]]
    assert closest[0] >= INTERVAL / 2, f"feed {closest[1]} fetched twice: {twice} (s after the kill)"

    # The dead worker's feeds were polled by the others within lease + interval of the kill.
    bound = killed_at + LEASE + INTERVAL + 3  # + a tick and a loaded machine's slack
    late = [
        n
        for n in orphaned
        if not any(killed_at < h.at <= bound and h.agent != "fleet-w3" for h in hits if h.feed == n)
    ]
    assert not late, f"{len(late)} of {len(orphaned)} orphaned feeds not taken over in time"

    # Each match in exactly one sent digest; the scheduled one sent by one worker only.
    sent = rows(engine, "select id, payload, created_at from digests where status = 'sent'")
    assert rows(engine, "select id from digests where status <> 'sent'") == []
    carried = [i for r in sent for i in digest_mod.from_dict(json.loads(str(r[1]))).match_ids]
    all_matches = {int(str(r[0])) for r in rows(engine, "select id from matches")}
    assert all_matches and len(carried) == len(set(carried)) and set(carried) == all_matches
    assert scalar(engine, "select count(*) from matches where digest_id is null") == 0
    assert scalar(engine, "select count(*) from digest_slots") == 1
    scheduled = datetime.strptime(digest_at, "%H:%M:%S").time()
    near = [
        r
        for r in sent
        if abs(
            (store.as_utc(r[2]) - datetime.combine(start_at.date(), scheduled, UTC)).total_seconds()  # type: ignore[operator]
        )
        < 20
    ]
    assert len(near) == 1, [r[2] for r in sent]

    # The killed worker's row stays (shown as gone); the stopped ones left.
    assert [str(r[0]) for r in rows(engine, "select id from workers")] == [victim_id]
    engine.dispose()


def _claim_fetch_config(tmp_path: Path, server: Server, n: int) -> Path:
    feeds = []
    for i in range(n):
        server.route(
            f"/c/{i}.xml",
            "<rss version='2.0'><channel><title>c</title></channel></rss>",
            headers={"Content-Type": "application/rss+xml"},
        )
        feeds.append((f"c{i}", server.url(f"/c/{i}.xml")))
    return write_config(tmp_path, feeds, '[schedule]\nmin_interval = "1h"\nmax_interval = "2h"\n')


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_processes_claiming_at_once_never_fetch_a_feed_twice(
    backend: str, tmp_path: Path, http_server: Server, request: pytest.FixtureRequest
) -> None:
    """Issue 17 point 5: two `watcher fetch` processes started together over 300 feeds."""
    db = f"sqlite:///{tmp_path / 'seen.db'}" if backend == "sqlite" else request.getfixturevalue("pg_url")
    config = _claim_fetch_config(tmp_path, http_server, 300)
    store.open_db(db).dispose()
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "watcher",
                "fetch",
                "--config",
                str(config),
                "--db",
                db,
                "--set",
                "http.per_host_concurrency=8",
                "--set",
                "extract.fetch_articles=false",
            ],
            cwd=tmp_path,
            env=_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode(errors="replace")
    fetched = collections.Counter(path for _, path, _ in http_server.requests)
    assert set(fetched) == {f"/c/{i}.xml" for i in range(300)}  # every feed polled ...
    assert max(fetched.values()) == 1  # ... by one of the two, once


def test_a_running_worker_stops_when_the_schema_moves_past_it(pg_url: str, tmp_path: Path) -> None:
    """Upgrading with workers running (docs/DEPLOY.md): a newer watcher migrates; the old worker
    sees the newer schema at its next heartbeat, stops with exit 3 and leaves the fleet."""
    config = write_config(tmp_path, [], "[schedule]\npoll_interval = 1\nlease = 3\n")
    engine = store.open_db(pg_url)
    log = tmp_path / "w.log"
    worker = start_worker(config, pg_url, "old-worker", log)
    try:
        wait_for(lambda: scalar(engine, "select count(*) from workers") == 1, 60, "the worker", [log])
        with engine.begin() as conn:
            conn.execute(sa.text("update meta set value = '99' where key = 'schema_version'"))
        assert worker.wait(30) == 3, log.read_text()[-2000:]
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)
    assert "migrated to schema 99" in log.read_text()
    assert scalar(engine, "select count(*) from workers") == 0
    restarted = start_worker(config, pg_url, "old-worker", log)  # and cannot start again
    assert restarted.wait(60) == 1
    assert "schema version 99 is newer than this watcher understands" in log.read_text()
    engine.dispose()
