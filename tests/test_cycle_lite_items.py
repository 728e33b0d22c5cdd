"""A cycle's entries written with sqlite3 (watcher.cycle_lite_items) are the rows SQLAlchemy writes
(watcher.store.entries / store.topics): the same calls on two real SQLite files, every table
compared (issue 16)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from watcher import cycle_lite_items as lite
from watcher.models import Article, Document, Entry, Score
from watcher.store import entries as store_entries
from watcher.store import open_db
from watcher.store import topics as store_topics
from watcher.store.items import NewItem

NOW = datetime(2026, 12, 1, 21, 30, 5, 123456, tzinfo=UTC)
TABLES = ("entries", "entry_feeds", "articles", "scores", "matches", "labels")


def _entry(n: int, **kw: Any) -> Entry:
    fields: dict[str, Any] = {
        "feed_url": "http://127.0.0.1/feed.xml",
        "link": f"http://127.0.0.1/a/{n}?utm_source=x",
        "url": f"http://127.0.0.1/a/{n}",
        "guid": f"g{n}",
        "title": f"Story {n} — «кириллица»",
        "summary": "s" * 5000 if n == 1 else f"About {n}",
        "published": datetime(2026, 11, 30, 8, n % 60, 0, tzinfo=timezone(timedelta(hours=3)))
        if n % 2
        else None,
        "author": "" if n % 3 else f"Author {n}",
    }
    fields.update(kw)
    return Entry(**fields)


def _score(topic: str, value: float, matched: bool) -> Score:
    return Score(
        topic, value, matched, groups={"places": ("Kabul", "Москва"), "empty": ()}, excluded=("x",),
        nearest_seed="seed 1" if matched else None, seed_similarity=0.4, strengths={"places": 0.7},
        title_terms=("Kabul",), language="ru",
    )  # fmt: skip


def _items(first: int, count: int) -> list[NewItem]:
    out = []
    for n in range(first, first + count):
        article = Article(
            url=f"http://127.0.0.1/a/{n}/final",
            title="" if n % 2 else f"Page title {n}",
            text=f"Text of {n}. " * 50,
            status="ok" if n % 4 else "fallback",
            source="trafilatura" if n % 4 else "feed",
            extractor_version="2.0",
            sitename="Site",
            author="Page author" if n % 5 == 0 else "",
            language="en" if n % 2 else None,
            published=datetime(2026, 11, 29, 7, 0, n, 500, tzinfo=UTC),
            error=None if n % 4 else "empty extraction",
        )
        scores = (_score("migration", 0.9, True), _score("other", 0.1, False)) if n % 3 == 0 else ()
        fetched = NOW - timedelta(seconds=n) if n % 2 else None
        out.append(NewItem(_entry(n).url, _entry(n), article, scores, f"<html>{n}</html>".encode(), fetched))
    return out


def _pair(tmp: Path) -> tuple[sa.Engine, sqlite3.Connection, Path, Path]:
    full_path, lite_path = tmp / "full.db", tmp / "lite.db"
    engines = [open_db(f"sqlite:///{p}") for p in (full_path, lite_path)]
    for engine in engines:
        with engine.begin() as conn:
            for feed_id in (1, 2):
                conn.execute(
                    sa.text(
                        "INSERT INTO feeds (id, url, created_at) "
                        f"VALUES ({feed_id}, 'http://f{feed_id}/', '2026-12-01 00:00:00.000000')"
                    )
                )
    engines[1].dispose()
    conn = sqlite3.connect(lite_path, isolation_level=None)
    return engines[0], conn, full_path, lite_path


@contextmanager
def _txn(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    conn.execute("BEGIN IMMEDIATE")
    yield conn
    conn.execute("COMMIT")


def _dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(path) as conn:
        return {t: list(conn.execute(f"SELECT * FROM {t} ORDER BY rowid")) for t in TABLES}


def test_recording_writes_the_same_rows_and_returns_the_same_matches(tmp_path: Path) -> None:
    engine, conn, full_path, lite_path = _pair(tmp_path)
    steps: list[tuple[int, list[int], list[NewItem]]] = [
        (1, [], _items(1, 7)),  # a first poll of feed 1
        (2, [1, 3], _items(6, 5)),  # feed 2: two known entries, two another feed stored (6, 7)
        (1, [2], []),  # nothing new, one more link
    ]
    for feed_id, known, items in steps:
        with engine.begin() as c:
            store_entries.link_entries(c, feed_id, known, NOW)
            full = store_entries.record_items(c, feed_id, items, NOW)
        with _txn(conn) as c2:
            lite.link_entries(c2, feed_id, known, NOW)
            ours = lite.record_items(c2, feed_id, items, NOW)
        assert ours == full
    full_rows, lite_rows = _dump(full_path), _dump(lite_path)
    assert full_rows == lite_rows
    assert len(full_rows["entries"]) == 10 and len(full_rows["matches"]) == 3  # the test wrote rows
    assert any(r[12] is not None for r in full_rows["articles"])  # a page kept for a match
    engine.dispose()
    conn.close()


def test_known_keys_late_links_and_labels_read_the_same(tmp_path: Path) -> None:
    engine, conn, full_path, lite_path = _pair(tmp_path)
    items = _items(1, 6)
    with engine.begin() as c:
        store_entries.record_items(c, 1, items, NOW)
    with _txn(conn) as c2:
        lite.record_items(c2, 1, items, NOW)
    asked = [(i.key, i.entry) for i in items[:3]]
    asked += [("http://127.0.0.1/other", _entry(2, url="http://127.0.0.1/other"))]  # its GUID is known
    asked += [("http://127.0.0.1/new", _entry(99))]
    for feed_id in (1, 2):  # by GUID only on the feed that carries it
        with engine.connect() as c:
            full = store_entries.known_keys(c, feed_id, asked)
        assert lite.known_keys(conn, feed_id, asked) == full
    assert "http://127.0.0.1/other" in lite.known_keys(conn, 1, asked)
    with engine.begin() as c:
        entry_id = store_entries.entry_id_for(c, items[4].key)
        assert entry_id is not None
        store_entries.link_entries(c, 2, [entry_id], NOW)
    with _txn(conn) as c2:
        lite_id = lite.entry_id_for(c2, items[4].key)
        assert lite_id == entry_id and lite.entry_id_for(c2, "http://nowhere/") is None
        lite.link_entries(c2, 2, [lite_id], NOW)
    labels: Callable[[sqlite3.Connection], None] = lambda db: db.executemany(  # noqa: E731
        "INSERT INTO labels (entry_id, topic, relevant, created_at) VALUES (?, ?, ?, ?)",
        [(3, "migration", 1, "2026-12-01 08:30:00.000000"), (1, "migration", 0, "2026-12-01 09:00:00.000000"),
         (2, "migration", 1, "2026-12-01 09:30:00.000000"), (4, "other", 1, "2026-12-01 08:00:00.000000")],
    )  # fmt: skip
    labels(conn)
    with sqlite3.connect(full_path) as db:
        labels(db)
    assert _dump(full_path) == _dump(lite_path)
    for topic in ("migration", "other", "none"):
        full_docs = store_topics.load_feedback(engine, topic)
        ours: tuple[list[Document], list[Document]] = lite.load_feedback(conn, topic)
        assert ours == full_docs
    relevant, irrelevant = lite.load_feedback(conn, "migration")
    assert [d.id for d in relevant] == ["entry:3", "entry:2"] and [d.id for d in irrelevant] == ["entry:1"]
    engine.dispose()
    conn.close()
