"""A cycle's entries on a plain SQLite file with the standard library (``cycle_lite``, issue 16).

``store.entries`` and ``store.topics`` statement for statement: which keys are known, a feed's new
entries with their links, articles, scores and matches, late links, the analyst's labels for the
topic models.  The rows are built by the same functions (``store.items``: ``entry_row``,
``item_rows``) and hold the same values in the same formats (datetimes as SQLAlchemy's SQLite
DATETIME writes them, booleans as 0/1), so a
database written here reads back exactly as one written through SQLAlchemy; tests/test_cycle_lite_items.py
writes the same cycle both ways and compares every table.  SQLAlchemy's per-statement work (compiling,
binding, result processing) was ~0.2 ms of the main process's CPU per article stored.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .store.items import NewItem, RecordedMatch, Row, entry_row, item_rows

if TYPE_CHECKING:
    from .models import Document, Entry

_ENTRY_COLUMNS = (
    "feed_id", "url", "link", "guid", "title", "summary", "author", "published_at", "first_seen_at",
)  # fmt: skip
_LINK = "INSERT INTO entry_feeds (entry_id, feed_id, seen_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"
_ENTRY_ROWS = 100  # rows per multi-row INSERT (9 values each: far below SQLite's variable limit)
_FEEDBACK = (  # store.topics.load_feedback
    "SELECT entries.id, entries.url, coalesce(nullif(articles.title, ''), entries.title), "
    "entries.title, articles.language, coalesce(articles.text, ''), entries.summary, labels.relevant "
    "FROM entries LEFT OUTER JOIN articles ON articles.entry_id = entries.id "
    "JOIN labels ON labels.entry_id = entries.id WHERE labels.topic = ? "
    "ORDER BY labels.created_at, entries.id"
)


def stored_time(value: datetime) -> str:
    """A datetime as SQLAlchemy's SQLite DATETIME stores it (the wall clock as given, microseconds)."""
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


def bind(value: Any) -> Any:
    """A value as SQLAlchemy binds it for SQLite: datetimes as ``stored_time``, booleans as 0/1."""
    if isinstance(value, datetime):
        return stored_time(value)
    if isinstance(value, bool):
        return int(value)
    return value


def known_keys(conn: sqlite3.Connection, feed_id: int, items: Sequence[tuple[str, Entry]]) -> dict[str, int]:
    """Map each already-stored key to its entry id: by canonical URL (any feed) or GUID (this feed)."""
    keys = [k for k, _ in items]
    found: dict[str, int] = {}
    for chunk in _chunks(keys, 500):
        marks = ", ".join("?" * len(chunk))
        rows = conn.execute(f"SELECT url, id FROM entries WHERE url IN ({marks})", chunk)
        found.update({url: eid for url, eid in rows})
    guids = {e.guid: k for k, e in items if e.guid and k not in found}
    for chunk in _chunks(list(guids), 500):
        marks = ", ".join("?" * len(chunk))
        rows = conn.execute(
            "SELECT entries.guid, entries.id FROM entries JOIN entry_feeds "
            "ON entry_feeds.entry_id = entries.id "
            f"WHERE entry_feeds.feed_id = ? AND entries.guid IN ({marks})",
            [feed_id, *chunk],
        )
        found.update({guids[guid]: eid for guid, eid in rows})
    return found


def link_entries(conn: sqlite3.Connection, feed_id: int, entry_ids: Iterable[int], now: datetime) -> None:
    """Note that this feed carries these (already stored) entries too."""
    seen = stored_time(now)
    rows = [(eid, feed_id, seen) for eid in set(entry_ids)]
    if rows:
        conn.executemany(_LINK, rows)


def entry_id_for(conn: sqlite3.Connection, key: str) -> int | None:
    row = conn.execute("SELECT id FROM entries WHERE url = ?", (key,)).fetchone()
    return None if row is None else int(row[0])


def record_items(
    conn: sqlite3.Connection, feed_id: int, items: Sequence[NewItem], now: datetime
) -> list[RecordedMatch]:
    """store.entries.record_items: new entries with their article and scores; an entry another
    feed stored meanwhile is only linked to this feed.  The rows are ``store.items``' own."""
    if not items:
        return []
    rows = [_values(entry_row(feed_id, item, now), _ENTRY_COLUMNS) for item in items]
    ids: dict[str, int] = {}
    one = f"({', '.join('?' * len(_ENTRY_COLUMNS))})"
    for start in range(0, len(rows), _ENTRY_ROWS):
        batch = rows[start : start + _ENTRY_ROWS]
        sql = (
            f"INSERT INTO entries ({', '.join(_ENTRY_COLUMNS)}) VALUES {', '.join([one] * len(batch))} "
            "ON CONFLICT DO NOTHING RETURNING id, url"
        )
        ids.update({url: eid for eid, url in conn.execute(sql, [v for row in batch for v in row])})
    lost = [item.key for item in items if item.key not in ids]  # stored first by another feed
    existing = [eid for key in lost if (eid := entry_id_for(conn, key)) is not None]
    link_entries(conn, feed_id, [*ids.values(), *existing], now)
    added = item_rows(items, ids, now)
    tables = (("articles", added.articles), ("matches", added.matches), ("scores", added.scores))
    for table, table_rows in tables:
        if table_rows:
            columns = tuple(table_rows[0])
            marks = ", ".join("?" * len(columns))
            conn.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                [_values(row, columns) for row in table_rows],
            )
    return added.recorded


def _values(row: Row, columns: Sequence[str]) -> tuple[Any, ...]:
    """A row's values in column order, as SQLAlchemy binds them (``bind``)."""
    return tuple(map(bind, map(row.__getitem__, columns)))


def load_feedback(conn: sqlite3.Connection, topic: str) -> tuple[list[Document], list[Document]]:
    """store.topics.load_feedback: (relevant, irrelevant) labelled articles, oldest label first."""
    from .models import Document

    relevant: list[Document] = []
    irrelevant: list[Document] = []
    for entry_id, url, title, _, language, text, summary, is_relevant in conn.execute(_FEEDBACK, (topic,)):
        doc = Document(
            title=title or "", text=text or summary or "", language=language, url=url, id=f"entry:{entry_id}"
        )
        (relevant if is_relevant else irrelevant).append(doc)
    return relevant, irrelevant


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
