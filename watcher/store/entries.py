"""What is new, and recording one feed's poll: entries, articles and matches in one transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite  # postgresql's dialect is imported when it is used

from ..models import Entry
from .items import NewItem as NewItem  # defined without SQLAlchemy (issue 16)
from .items import RecordedMatch as RecordedMatch
from .items import entry_row, item_rows
from .items import match_row as match_row
from .items import score_row as score_row
from .schema import articles, cycles, entries, entry_feeds, matches, scores


def insert_ignore(conn: sa.Connection, table: sa.Table) -> Any:
    """INSERT that skips rows violating a unique constraint, on SQLite and PostgreSQL alike."""
    name = conn.dialect.name
    if name == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    if name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table).on_conflict_do_nothing()
    raise NotImplementedError(f"no INSERT ... ON CONFLICT for dialect {name}")


def known_keys(
    conn: sa.Connection, feed_id: int, items: Sequence[tuple[str, Entry]]
) -> dict[str, int]:
    """Map each already-stored key to its entry id: by canonical URL (any feed) or GUID (this feed)."""
    keys = [k for k, _ in items]
    found: dict[str, int] = {}
    for chunk in _chunks(keys, 500):
        rows = conn.execute(sa.select(entries.c.url, entries.c.id).where(entries.c.url.in_(chunk)))
        found.update({url: eid for url, eid in rows})
    guids = {e.guid: k for k, e in items if e.guid and k not in found}
    for chunk in _chunks(list(guids), 500):
        rows = conn.execute(
            sa.select(entries.c.guid, entries.c.id)
            .join(entry_feeds, entry_feeds.c.entry_id == entries.c.id)
            .where(entry_feeds.c.feed_id == feed_id, entries.c.guid.in_(chunk))
        )
        found.update({guids[guid]: eid for guid, eid in rows})
    return found


def link_entries(
    conn: sa.Connection, feed_id: int, entry_ids: Iterable[int], now: datetime
) -> None:
    """Note that this feed carries these (already stored) entries too."""
    rows = [{"entry_id": eid, "feed_id": feed_id, "seen_at": now} for eid in set(entry_ids)]
    if rows:
        conn.execute(insert_ignore(conn, entry_feeds), rows)


def entry_id_for(conn: sa.Connection, key: str) -> int | None:
    return conn.execute(sa.select(entries.c.id).where(entries.c.url == key)).scalar_one_or_none()


def record_items(
    conn: sa.Connection, feed_id: int, items: Sequence[NewItem], now: datetime
) -> list[RecordedMatch]:
    """Insert new entries with their article and matches, in batches; an entry another feed stored
    meanwhile is only linked to this feed."""
    if not items:
        return []
    rows = [entry_row(feed_id, item, now) for item in items]
    stmt = insert_ignore(conn, entries).returning(entries.c.id, entries.c.url)
    ids: dict[str, int] = {url: eid for eid, url in conn.execute(stmt, rows)}
    lost = [item.key for item in items if item.key not in ids]  # stored first by another feed
    existing = [eid for key in lost if (eid := entry_id_for(conn, key)) is not None]
    link_entries(conn, feed_id, [*ids.values(), *existing], now)
    added = item_rows(items, ids, now)
    for table, table_rows in ((articles, added.articles), (matches, added.matches), (scores, added.scores)):
        if table_rows:
            conn.execute(sa.insert(table), table_rows)
    return added.recorded


def start_cycle(conn: sa.Connection, now: datetime) -> int:
    stmt = sa.insert(cycles).values(started_at=now).returning(cycles.c.id)
    return int(conn.execute(stmt).scalar_one())


def finish_cycle(
    conn: sa.Connection,
    cycle_id: int,
    now: datetime,
    *,
    feeds: int,
    errors: int,
    new: int,
    matched: int,
) -> None:
    conn.execute(
        sa.update(cycles)
        .where(cycles.c.id == cycle_id)
        .values(finished_at=now, feeds=feeds, errors=errors, new_entries=new, matches=matched)
    )


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
