"""Issue 13: each match in exactly one sent digest when several senders run at once — four workers'
digest jobs or `watcher digest` runs, each with its own connection — on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from tests.digest_helpers import OTHER, T0, WIRE, Db, make_config
from watcher import digest as digest_mod
from watcher import outbox, store
from watcher.config import Config
from watcher.store import schema


def _senders(cfg: Config, db_url: str, n: int, at: int) -> list[str]:
    start = threading.Barrier(n)

    def send(_: int) -> str:
        engine = store.open_db(db_url)
        try:
            start.wait()
            return outbox.send_digest(cfg, engine, now=T0 + timedelta(minutes=at)).status
        finally:
            engine.dispose()

    with ThreadPoolExecutor(n) as pool:
        return sorted(pool.map(send, range(n)))


def test_concurrent_senders_carry_each_match_once(db_url: str, tmp_path: Path) -> None:
    db = Db(store.open_db(db_url), Path(db_url))
    cfg = make_config(tmp_path, db, formats=["markdown", "json"])
    first = {db.match(f"Story {i}", WIRE if i % 2 else OTHER, site=f"Site {i}") for i in range(12)}
    assert _senders(cfg, db_url, 4, 0) == ["sent", "skipped", "skipped", "skipped"]
    later = {db.match(f"Later {i}", WIRE, site=f"Late {i}") for i in range(5)}
    assert _senders(cfg, db_url, 4, 5) == ["sent", "skipped", "skipped", "skipped"]

    rows = db.rows(sa.select(schema.digests.c.status, schema.digests.c.payload))
    assert [r.status for r in rows] == ["sent", "sent"]
    carried = [set(digest_mod.from_dict(json.loads(r.payload)).match_ids) for r in rows]
    assert sorted(carried, key=len) == [later, first]  # each match in one digest, none twice
    assert len(list((tmp_path / "digests").glob("*.md"))) == 2
    db.engine.dispose()
