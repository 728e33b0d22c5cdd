"""The store: migrations with a recorded version, a newer schema refused, owner-only file."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from watcher import store
from watcher.errors import StoreError


def test_new_database_is_migrated_in_wal_mode_and_owner_only(tmp_path: Path) -> None:
    db = tmp_path / "sub" / "seen.db"
    engine = store.open_db(f"sqlite:///{db}")
    engine.dispose()
    with sqlite3.connect(db) as conn:
        version = conn.execute("select value from meta where key = 'schema_version'").fetchone()
        assert version == (str(store.SCHEMA_VERSION),)
        assert conn.execute("pragma journal_mode").fetchone() == ("wal",)
        tables = {r[0] for r in conn.execute("select name from sqlite_master where type = 'table'")}
    assert {"feeds", "entries", "articles", "matches", "digests", "labels", "meta"} <= tables
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    # Opening again is a no-op.
    store.open_db(f"sqlite:///{db}").dispose()


def test_newer_schema_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    db = tmp_path / "seen.db"
    store.open_db(f"sqlite:///{db}").dispose()
    with sqlite3.connect(db) as conn:
        conn.execute("update meta set value = '99' where key = 'schema_version'")
    with pytest.raises(StoreError, match="schema version 99 is newer"):
        store.open_db(f"sqlite:///{db}")


def test_garbage_file_is_a_store_error(tmp_path: Path) -> None:
    db = tmp_path / "seen.db"
    db.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="cannot open"):
        store.open_db(f"sqlite:///{db}")
