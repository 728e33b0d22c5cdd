"""`watcher fetch` over an unchanged SQLite file never imports SQLAlchemy, and still writes every
state; a feed with something new hands over in the same process and loses nothing (issue 16)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.proc_helpers import clean_env
from tests.server import Server
from tests.test_cycle_lite import Farm, make_config
from watcher import pipeline
from watcher.cycle_lite import LiteStore
from watcher.models import Entry
from watcher.pipeline import run_cycle_async
from watcher.schedule import FeedUpdate
from watcher.store import open_db

ROOT = Path(__file__).resolve().parents[1]


def write_config(tmp: Path, urls: list[str]) -> Path:
    text = (
        f'[storage]\ndb = "{tmp / "w.db"}"\n'
        '[http]\nallow_networks = ["127.0.0.1"]\nmin_host_gap = 0.0\n'
        "[extract]\nfetch_articles = false\nworkers = 1\nparse_helper = false\n\n"
        + "".join(f'[[feeds]]\nurl = "{u}"\nname = "Feed {i}"\n\n' for i, u in enumerate(urls))
    )
    path = tmp / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def fetch(config: Path) -> tuple[dict[str, Any], set[str]]:
    """`python -X importtime -m watcher fetch --json`: its report and every module it imported."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "watcher", "fetch", "--json", "--config", str(config)],
        capture_output=True,
        text=True,
        cwd=config.parent,
        env=clean_env(PYTHONPATH=str(ROOT)),
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    modules = {
        line.rsplit("|", 1)[1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    return json.loads(proc.stdout), modules


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute(sql))


def test_an_unchanged_fetch_never_imports_sqlalchemy_and_writes_every_state(
    http_server: Server, tmp_path: Path
) -> None:
    farm = Farm(http_server, feeds=8)
    config = write_config(tmp_path, farm.urls())
    db = tmp_path / "w.db"
    first, modules = fetch(config)  # a new database: created and migrated by the store
    assert first["new_entries"] == 16 and "sqlalchemy" in modules

    before = dict(rows(db, "SELECT id, last_polled_at FROM feeds"))
    again, modules = fetch(config)
    assert again == {"feeds": 8, "new_entries": 0, "matches": [], "errors": []}
    assert "watcher.cycle_lite" in modules  # the probe sees the imports it looks for
    assert not {m for m in modules if m == "sqlalchemy" or m.startswith("sqlalchemy.")}
    after = rows(db, "SELECT id, last_polled_at, last_status, lease_owner, lease_until FROM feeds")
    assert len(after) == 8
    for fid, polled, status, owner, until in after:
        assert polled > before[fid] and status == "not_modified" and owner is None and until is None
    cycles = rows(db, "SELECT feeds, errors, new_entries, finished_at FROM cycles ORDER BY id")
    assert len(cycles) == 2 and cycles[-1][:3] == (8, 0, 0) and cycles[-1][3] is not None


def test_a_changed_feed_is_recorded_by_the_stdlib_path_too(http_server: Server, tmp_path: Path) -> None:
    farm = Farm(http_server, feeds=5)
    config = write_config(tmp_path, farm.urls())
    db = tmp_path / "w.db"
    fetch(config)
    farm.versions[3] = 2  # one new item in feed 3: looked up and recorded with sqlite3 (issue 16)
    report, modules = fetch(config)
    assert report["new_entries"] == 1 and not report["errors"] and "sqlalchemy" not in modules
    entries = rows(db, "SELECT url FROM entries")
    assert len(entries) == 11 == len(set(entries))
    assert rows(db, "SELECT count(*) FROM entry_feeds") == [(11,)]
    statuses = [r[0] for r in rows(db, "SELECT last_status FROM feeds ORDER BY id")]
    assert statuses == ["not_modified"] * 3 + ["ok", "not_modified"]
    assert rows(db, "SELECT count(*) FROM feeds WHERE lease_owner IS NOT NULL") == [(0,)]

    again, modules = fetch(config)  # nothing new any more: the stdlib path again
    assert again["new_entries"] == 0 and "sqlalchemy" not in modules


class Spy(LiteStore):
    """Which feed states the stdlib path wrote, and which the engine's store did after it."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.writes: list[tuple[str, list[int]]] = []

    def apply_updates(self, states: list[tuple[int, FeedUpdate]]) -> None:
        self.writes.append(("lite" if self.handed_over is None else "engine", [f for f, _ in states]))
        super().apply_updates(states)

    def known_keys(self, feed_id: int, items: Sequence[tuple[str, Entry]]) -> dict[str, int]:
        # The stdlib path records entries itself now; a hand-over mid-cycle (the engine asked for,
        # say) must still keep what was written before it: forced here at the first new entry.
        return self._store("a feed has entries to look up").known_keys(feed_id, items)


def test_states_written_before_the_hand_over_are_kept_and_none_twice(
    http_server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    farm = Farm(http_server, feeds=6)
    cfg = make_config(tmp_path, "w.db", farm.urls())
    engine = open_db(cfg.db_url)
    asyncio.run(run_cycle_async(cfg, engine, models=[]))
    engine.dispose()
    before = dict(rows(tmp_path / "w.db", "SELECT id, last_polled_at FROM feeds"))

    monkeypatch.setattr(pipeline, "STATE_BATCH", 1)  # each 304's state queued as it comes
    farm.versions[5] = 2
    farm.modes[5] = "late"  # answers after the others: their states went through sqlite3 first
    store = Spy(cfg)
    report = asyncio.run(run_cycle_async(cfg, store, models=[]))

    assert report.new_entries == 1 and store.handed_over == "a feed has entries to look up"
    by_path: dict[str, list[int]] = {"lite": [], "engine": []}
    for path, ids in store.writes:
        by_path[path].extend(ids)
    assert by_path["lite"] and sorted(by_path["lite"] + by_path["engine"]) == [1, 2, 3, 4, 5]
    after = rows(tmp_path / "w.db", "SELECT id, last_polled_at, last_status, lease_owner FROM feeds")
    for fid, polled, status, owner in after:
        assert polled > before[fid] and owner is None
        assert status == ("ok" if fid == 6 else "not_modified")
    entries = rows(tmp_path / "w.db", "SELECT url FROM entries")
    assert len(entries) == 13 == len(set(entries))
