"""Retention: drop the stored text of old articles that matched nothing (matches are kept whole).

The entry row itself (URL, GUID, title) is kept as a tombstone for twice the retention period, so an
item that a slow feed still lists is not taken for new again; after that it goes too.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from .schema import articles, entries, labels, matches


def prune(engine: sa.Engine, now: datetime, retention: timedelta) -> int:
    """Prune non-matching, unlabelled articles older than `retention`; return how many rows went."""
    keep = sa.or_(
        entries.c.id.in_(sa.select(matches.c.entry_id)),
        entries.c.id.in_(sa.select(labels.c.entry_id)),
    )

    def older(age: timedelta) -> sa.Select[tuple[int]]:
        return sa.select(entries.c.id).where(entries.c.first_seen_at < now - age, sa.not_(keep))

    with engine.begin() as conn:
        n = conn.execute(
            sa.delete(articles).where(articles.c.entry_id.in_(older(retention)))
        ).rowcount
        n += conn.execute(sa.delete(entries).where(entries.c.id.in_(older(2 * retention)))).rowcount
    return int(n)
