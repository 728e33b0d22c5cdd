"""Files (issue 8): the database and the digests are the owner's only, unless configured.

Run under a umask of 0, so that a mode is what the code sets, not what the umask leaves; then with
``[storage] file_mode`` / ``[digest] file_mode`` set to "0640".
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.digest_helpers import WIRE
from watcher import config as config_mod
from watcher import outbox
from watcher.commands import common
from watcher.errors import ConfigError
from watcher.lock import DaemonLock
from watcher.store import now_utc, schema


@contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def config(tmp: Path, **extra: Any) -> config_mod.Config:
    raw: dict[str, Any] = {
        "storage": {"db": str(tmp / "seen.db"), **extra.get("storage", {})},
        "digest": {
            "dir": str(tmp / "digests"),
            "formats": ["markdown", "html", "text", "json", "atom"],
            **extra.get("digest", {}),
        },
        "topics": [{"name": "Russia–Afghan migration"}],
    }
    return config_mod.parse(raw, tmp)


def fill_and_send(cfg: config_mod.Config) -> tuple[sa.Engine, list[Path]]:
    """Open the store as the CLI does, add one match, send the digest; the files written."""
    engine = common.open_store(cfg)
    now = now_utc()
    with engine.begin() as conn:
        feed = sa.insert(schema.feeds).values(url="https://f.example/rss", created_at=now)
        fid = conn.execute(feed.returning(schema.feeds.c.id)).scalar_one()
        entry = sa.insert(schema.entries).values(
            feed_id=fid,
            url="https://news.example/1",
            link="https://news.example/1",
            title="Afghan migrants in Russia",
            first_seen_at=now,
        )
        eid = conn.execute(entry.returning(schema.entries.c.id)).scalar_one()
        conn.execute(sa.insert(schema.articles).values(entry_id=eid, status="ok", source="feed", text=WIRE))
        conn.execute(
            sa.insert(schema.matches).values(
                entry_id=eid, topic="Russia–Afghan migration", score=0.9, reasons="", details="{}",
                matched_at=now,
            )
        )  # fmt: skip
    out = outbox.send_digest(cfg, engine, now=now, environ={})
    assert out.status == "sent", out
    return engine, [p for p in cfg.digest.dir.iterdir() if p.is_file()]


def test_database_and_digests_are_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    with umask(0):
        cfg = config(tmp_path)
        engine, files = fill_and_send(cfg)
        with DaemonLock(cfg.db_url):
            lock = Path(cfg.db + ".lock")
            assert mode(lock) == 0o600
    db_files = [Path(cfg.db), Path(cfg.db + "-wal"), Path(cfg.db + "-shm")]
    assert all(p.exists() for p in db_files)
    assert {p.name: mode(p) for p in db_files} == {p.name: 0o600 for p in db_files}
    names = {p.suffix for p in files}
    assert {".md", ".html", ".txt", ".json", ".atom"} <= names, names
    assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}
    engine.dispose()


def test_configured_modes_are_applied_exactly(tmp_path: Path) -> None:
    with umask(0o077):  # stricter than asked: the configured mode still wins on new files
        cfg = config(tmp_path, storage={"file_mode": "0640"}, digest={"file_mode": "0644"})
        engine, files = fill_and_send(cfg)
    assert mode(Path(cfg.db)) == 0o640 and mode(Path(cfg.db + "-wal")) == 0o640
    assert files and {mode(p) for p in files} == {0o644}
    engine.dispose()


def test_an_existing_database_keeps_its_mode(tmp_path: Path) -> None:
    db = tmp_path / "seen.db"
    db.touch(mode=0o640)
    os.chmod(db, 0o640)  # the administrator's choice
    cfg = config(tmp_path)
    common.open_store(cfg).dispose()
    assert mode(db) == 0o640


@pytest.mark.parametrize("value", ["0400", "0200", "1777", "rw-r-----", "08", 0o1600, True, -1])
def test_bad_file_modes_name_the_field(tmp_path: Path, value: object) -> None:
    with pytest.raises(ConfigError, match=r"^storage\.file_mode: expected an octal file mode"):
        config(tmp_path, storage={"file_mode": value})
    with pytest.raises(ConfigError, match=r"^digest\.file_mode: "):
        config(tmp_path, digest={"file_mode": value})
