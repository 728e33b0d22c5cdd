"""Feed states of polls that store nothing are written in batches, and every one of them lands."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from tests.http_helpers import rss
from tests.server import Server
from watcher import config as config_mod
from watcher.pipeline import STATE_BATCH, run_cycle_async
from watcher.store import open_db
from watcher.store.schema import feeds as feeds_table

RSS = {"Content-Type": "application/rss+xml"}


def _states(engine: sa.Engine) -> dict[int, tuple[str, str | None, datetime]]:
    columns = (feeds_table.c.id, feeds_table.c.last_status, feeds_table.c.lease_owner)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(*columns, feeds_table.c.last_polled_at))
        return {fid: (status, owner, polled) for fid, status, owner, polled in rows}


def test_more_unchanged_feeds_than_one_batch_all_get_their_state(
    http_server: Server, tmp_path: Path
) -> None:
    n = STATE_BATCH + 6
    for i in range(n):
        http_server.route(f"/u{i}.xml", rss([(f"u{i}", f"Story {i}")]), headers=RSS)
    raw = {
        "storage": {"db": str(tmp_path / "w.db")},
        "http": {"allow_networks": ["127.0.0.1"], "min_host_gap": 0.0},
        "extract": {"fetch_articles": False, "workers": 1, "parse_helper": False},
        "feeds": [{"url": http_server.url(f"/u{i}.xml")} for i in range(n)],
    }
    cfg = config_mod.parse(raw, tmp_path)
    engine = open_db(cfg.db_url)

    first = asyncio.run(run_cycle_async(cfg, engine, models=[]))
    before = _states(engine)
    again = asyncio.run(run_cycle_async(cfg, engine, models=[]))
    after = _states(engine)

    assert first.new_entries == n and again.new_entries == 0
    assert [f.status for f in again.feeds] == ["not_modified"] * n
    assert len(after) == n
    for fid, (status, owner, polled) in after.items():
        assert status == "not_modified" and owner is None  # written, lease released
        assert polled > before[fid][2]


def test_an_error_poll_state_is_written_with_the_batch(http_server: Server, tmp_path: Path) -> None:
    http_server.route("/ok.xml", rss([("a", "Alpha")]), headers=RSS)
    raw = {
        "storage": {"db": str(tmp_path / "w.db")},
        "http": {"allow_networks": ["127.0.0.1"], "min_host_gap": 0.0},
        "extract": {"fetch_articles": False, "workers": 1},
        "feeds": [{"url": http_server.url("/ok.xml")}, {"url": http_server.url("/missing.xml")}],
    }
    cfg = config_mod.parse(raw, tmp_path)
    engine = open_db(cfg.db_url)
    report = asyncio.run(run_cycle_async(cfg, engine, models=[]))
    assert sorted(f.status for f in report.feeds) == ["http_error", "ok"]
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(feeds_table.c.url, feeds_table.c.failures, feeds_table.c.lease_owner)
        ).all()
    failures = {url.rsplit("/", 1)[1]: (count, owner) for url, count, owner in rows}
    assert failures == {"ok.xml": (0, None), "missing.xml": (1, None)}
