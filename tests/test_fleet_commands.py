"""Issue 13: every command on SQLite and on a real PostgreSQL (``--db URL``, ``$WATCHER_DB``), and
``watcher db version|migrate|copy`` (an SQLite user moves over and keeps everything)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.farm import (
    AFGHAN_REFUGEES_RU,
    AFGHAN_WORKERS,
    LOCAL_WEATHER,
    TALIBAN_TRADE,
    page,
    serve_feed,
    write_config,
)
from tests.pg import PgServer
from tests.server import Server
from watcher import store
from watcher.cli import main
from watcher.store import copy as store_copy
from watcher.store import workers as store_workers
from watcher.store.schema import meta

STORIES = (AFGHAN_WORKERS, AFGHAN_REFUGEES_RU, TALIBAN_TRADE, LOCAL_WEATHER)


def _site(server: Server, tmp_path: Path) -> Path:
    items = []
    for story in STORIES:
        url = server.route(f"/news/{story.slug}.html", page(story))
        items.append((story.title, url, story.slug))
    feed_a = serve_feed(server, "/a.xml", "Feed A", items[:2])
    feed_b = serve_feed(server, "/b.xml", "Feed B", items[1:])
    return write_config(tmp_path, [("A", feed_a), ("B", feed_b)])


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, object]:
    code, out = _run(capsys, *argv)
    assert code == 0, out
    data = json.loads(out)
    assert isinstance(data, dict)
    return data


def test_every_command_on_the_database_url(
    db_url: str, tmp_path: Path, http_server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _site(http_server, tmp_path)
    common = ["--config", str(config), "--db", db_url]
    first = _json(capsys, "fetch", *common, "--json")
    matched = first["matches"]
    assert isinstance(matched, list) and len(matched) >= 2  # the two Afghan migration stories
    again = _json(capsys, "fetch", *common, "--json")
    assert again["matches"] == []  # stored once: nothing is new on a re-poll

    status = _json(capsys, "status", *common, "--json")
    feeds = status["feeds"]
    assert isinstance(feeds, list) and {f["status"] for f in feeds} <= {"ok", "not_modified"}
    assert status["workers"] == []
    listed = _json(capsys, "feeds", "list", *common, "--json")
    assert len(listed["feeds"]) == 2  # type: ignore[arg-type]

    code, out = _run(capsys, "digest", *common)
    assert code == 0, out
    digests = sorted((tmp_path / "digests").glob("*.md"))
    assert len(digests) == 1 and AFGHAN_WORKERS.title in digests[0].read_text(encoding="utf-8")
    code, out = _run(capsys, "digest", *common)
    assert code == 0 and len(list((tmp_path / "digests").glob("*.md"))) == 1  # nothing new

    entry_id = next(m["entry_id"] for m in matched if isinstance(m, dict))
    code, out = _run(capsys, "label", *common, str(entry_id), "relevant")
    assert code == 0, out
    code, out = _run(capsys, "rescore", *common, "--dry-run")
    assert code == 0, out
    code, out = _run(capsys, "db", "version", *common, "--json")
    assert code == 0 and json.loads(out)["schema"] == store.SCHEMA_VERSION


def test_watcher_db_env_var_reaches_postgresql(
    pg_url: str, tmp_path: Path, http_server: Server, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    config = _site(http_server, tmp_path)
    monkeypatch.setenv("WATCHER_DB", pg_url)
    _json(capsys, "fetch", "--config", str(config), "--json")
    assert not (tmp_path / "seen.db").exists()  # the config's SQLite file was not used
    engine = store.open_db(pg_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from entries")).scalar_one() == 4
    engine.dispose()


def test_db_version_and_migrate(pg_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    engine = store.connect(pg_url)
    engine.dispose()
    code, out = _run(capsys, "db", "version", "--db", pg_url)
    assert code == 3 and "schema 0" in out and "db migrate" in out
    code, out = _run(capsys, "db", "migrate", "--db", pg_url)
    assert code == 0 and f"schema 0 -> {store.SCHEMA_VERSION}" in out
    code, out = _run(capsys, "db", "migrate", "--db", pg_url)
    assert code == 0 and "nothing to do" in out
    engine = store.open_db(pg_url)
    with engine.begin() as conn:
        conn.execute(sa.update(meta).where(meta.c.key == "schema_version").values(value="99"))
    engine.dispose()
    code, out = _run(capsys, "db", "version", "--db", pg_url)
    assert code == 3 and "newer than this watcher" in out
    code, out = _run(capsys, "status", "--db", pg_url)  # a worker of an older schema refuses
    assert code == 1 and "schema version 99 is newer" in out


def _dump(url: str) -> dict[str, list[tuple[object, ...]]]:
    """Every copied table's rows, in key order, times as UTC (the two backends compared)."""
    engine = store.open_db(url)
    out: dict[str, list[tuple[object, ...]]] = {}
    with engine.connect() as conn:
        for table in store_copy.data_tables():
            order = list(table.primary_key.columns) or list(table.columns)
            rows = conn.execute(sa.select(table).order_by(*order))
            out[table.name] = [
                tuple(store.as_utc(v) if hasattr(v, "tzinfo") else v for v in r) for r in rows
            ]
    engine.dispose()
    return out


def test_db_copy_moves_an_sqlite_user_over_with_everything(
    pg_server: PgServer, tmp_path: Path, http_server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _site(http_server, tmp_path)
    sqlite_db = tmp_path / "seen.db"
    common = ["--config", str(config)]
    first = _json(capsys, "fetch", *common, "--json")
    entry_id = next(m["entry_id"] for m in first["matches"] if isinstance(m, dict))  # type: ignore[union-attr]
    assert _run(capsys, "label", *common, str(entry_id), "relevant")[0] == 0
    assert _run(capsys, "digest", *common)[0] == 0
    before = _dump(f"sqlite:///{sqlite_db}")
    assert all(before[t] for t in ("feeds", "entries", "articles", "matches", "labels", "digests"))

    target = pg_server.create_database("copy")
    code, out = _run(capsys, "db", "copy", str(sqlite_db), target)
    assert code == 0, out
    assert f"copied {sum(len(v) for v in before.values())} rows" in out
    assert _dump(target) == before

    # A refused second copy leaves the target as it was.
    code, out = _run(capsys, "db", "copy", str(sqlite_db), target)
    assert code == 1 and "is not empty" in out and "feeds (2 rows)" in out
    assert _dump(target) == before

    # The moved database goes on: ids continue after the copied ones, nothing is new again.
    again = _json(capsys, "fetch", *common, "--db", target, "--json")
    assert again["matches"] == []
    engine = store.open_db(target)
    with engine.begin() as conn:
        new_id = conn.execute(
            sa.text("insert into cycles (started_at) values (now()) returning id")
        ).scalar_one()
    engine.dispose()
    assert new_id > max(int(str(r[0])) for r in before["cycles"])


def test_status_lists_live_workers(
    pg_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = store.open_db(pg_url)
    now = store.now_utc()
    store_workers.register(engine, "box-1:4242:abc", now)
    store_workers.beat(engine, "box-1:4242:abc", now, {"last_cycle": {"feeds": 7, "seconds": 1.5}})
    engine.dispose()
    code, out = _run(capsys, "status", "--db", pg_url)
    assert code == 0, out
    assert "worker box-1:4242:abc: live" in out and "last cycle 7 feeds in 1.5 s" in out
    doc = _json(capsys, "status", "--db", pg_url, "--json")
    workers = doc["workers"]
    assert isinstance(workers, list) and workers[0]["id"] == "box-1:4242:abc"
    assert workers[0]["live"] is True and workers[0]["pid"] == os.getpid()
