"""Feed rows: config sync, management, claims with a lease, state after a poll, health.

Config and added feeds live side by side in one table.  For a feed listed in config.toml the file
wins: its name, interval and enabled flag are rewritten on every sync, and ``feeds remove/disable``
refuse it (edit the file).  Feeds added with ``watcher feeds add`` (source "added") or polled with
``watcher fetch --feed URL`` (source "cli") are managed from the command line.  A config feed that
disappears from the file is disabled, not deleted: its entries keep pointing at it.

A claim sets ``lease_until``/``lease_owner`` in one UPDATE, so two processes never poll one feed; a
lease left by a crashed poller expires by itself.  On PostgreSQL the rows are picked with
``FOR UPDATE SKIP LOCKED``: several workers claiming at once get disjoint batches without waiting.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ..config import FeedConfig
from ..errors import StoreError
from ..health import (  # shared with cycle_lite (issue 16)
    SYNCED_KEY,
    FeedHealth,
    announce,
    feed_row,
    feeds_digest,
)
from ..models import FEED_STATE, Feed
from ..schedule import FeedUpdate
from . import as_utc, kv
from .entries import insert_ignore
from .schema import entries, entry_feeds, feeds, matches

log = logging.getLogger(__name__)

MANUAL = ("added", "cli")


class FeedError(StoreError):
    """A feed management request that cannot be carried out (unknown URL, config-owned feed)."""


def _feed(row: Any) -> Feed:
    """A ``feeds`` row as a Feed: the same reading as the standard-library paths' (health)."""
    return feed_row(row._mapping)


def sync_config_feeds(engine: sa.Engine, configured: Sequence[FeedConfig], now: datetime) -> None:
    """Make the table agree with config.toml: add new, update stated fields, disable dropped.

    Skipped when the feeds of config.toml are those the table last agreed with (their hash is
    kept in ``meta``): only a sync writes those fields of config feeds (the feed commands refuse
    them), so reading and comparing 1,000 rows on every cron run would find nothing (issue 16).
    """
    wanted = {f.url: f for f in configured}
    digest = feeds_digest(configured)
    with engine.connect() as conn:
        done = kv.get(conn, SYNCED_KEY)
    if done == digest:
        return
    with engine.begin() as conn:
        c = feeds.c  # only what is compared: 1,000 full rows cost a re-poll ~10 ms (issue 16)
        columns = (c.id, c.url, c.name, c.interval, c.enabled, c.source)
        rows = {r.url: r for r in conn.execute(sa.select(*columns))}
        for url, fc in wanted.items():
            values = {
                "name": fc.name,
                "interval": fc.interval,
                "enabled": fc.enabled,
                "source": "config",
            }
            row = rows.get(url)
            if row is None:  # another worker may add it at the same moment (PostgreSQL)
                conn.execute(
                    insert_ignore(conn, feeds).values(
                        url=url, created_at=now, next_poll_at=now, **values
                    )
                )
            elif any(getattr(row, k) != v for k, v in values.items()):
                conn.execute(sa.update(feeds).where(feeds.c.id == row.id).values(**values))
        for url, row in rows.items():
            if row.source == "config" and url not in wanted and row.enabled:
                log.info("feed=%s no longer in config: disabled", url)
                conn.execute(sa.update(feeds).where(feeds.c.id == row.id).values(enabled=False))
        kv.put(conn, SYNCED_KEY, digest)  # another worker may write it at the same moment


def _ensure(conn: sa.Connection, url: str, now: datetime, source: str) -> int:
    row = conn.execute(
        sa.select(feeds.c.id).where(sa.or_(feeds.c.url == url, feeds.c.current_url == url))
    ).first()
    if row is not None:
        return int(row.id)
    new_id = conn.execute(
        sa.insert(feeds)
        .values(url=url, source=source, created_at=now, next_poll_at=now)
        .returning(feeds.c.id)
    ).scalar_one()
    return int(new_id)


def claim_due(
    engine: sa.Engine,
    *,
    now: datetime,
    owner: str,
    lease_seconds: float,
    limit: int | None = None,
    urls: Sequence[str] | None = None,
    due_only: bool = True,
) -> list[Feed]:
    """Lease the feeds to poll now and return them.

    Without ``urls``: enabled, non-retired feeds (only those whose ``next_poll_at`` has come when
    ``due_only``).  With ``urls``: exactly those feeds, created with source "cli" if unknown,
    whatever their state.  Feeds leased by someone else until later are skipped either way.
    """
    lease_until = now + timedelta(seconds=lease_seconds)
    free = sa.or_(feeds.c.lease_until.is_(None), feeds.c.lease_until <= now)
    with engine.begin() as conn:
        if urls is not None:
            ids = [_ensure(conn, u, now, "cli") for u in dict.fromkeys(urls)]
            pick = sa.select(feeds.c.id).where(feeds.c.id.in_(ids))
        else:
            pick = sa.select(feeds.c.id).where(
                feeds.c.enabled.is_(True), feeds.c.retired.is_(False)
            )
            if due_only:
                pick = pick.where(
                    sa.or_(feeds.c.next_poll_at.is_(None), feeds.c.next_poll_at <= now)
                )
        if conn.dialect.name == "postgresql":
            # Workers claiming at once each take other rows instead of queueing on one another's
            # row locks (issue 13); the lease re-check below still guards against a stale read.
            # The order is ix_feeds_due's, so a batch reads its rows only, not every due feed.
            pick = pick.where(free).order_by(feeds.c.next_poll_at.asc().nulls_first())
            pick = pick.with_for_update(skip_locked=True)
        else:
            pick = pick.where(free).order_by(
                feeds.c.next_poll_at.is_not(None), feeds.c.next_poll_at
            )
        if limit is not None:
            pick = pick.limit(limit)
        # One UPDATE re-checking the lease: whoever writes second finds the rows taken.
        stmt = (
            sa.update(feeds)
            .where(feeds.c.id.in_(pick.scalar_subquery()), free)
            .values(lease_until=lease_until, lease_owner=owner[:64])
            .returning(*feeds.c)
        )
        claimed = [_feed(r) for r in conn.execute(stmt)]
    claimed.sort(key=lambda f: (f.next_poll_at is not None, f.next_poll_at or now, f.url))
    return claimed


def release(conn: sa.Connection, feed_id: int) -> None:
    """Give up the lease on a feed (after a poll, or when it crashed)."""
    conn.execute(
        sa.update(feeds).where(feeds.c.id == feed_id).values(lease_until=None, lease_owner=None)
    )


@functools.cache
def _update_statement() -> sa.Update:
    """One UPDATE with bound parameters, compiled once (per-call ``.values()`` costs ~0.5 ms)."""
    values: dict[str, Any] = {name: sa.bindparam(f"v_{name}") for name in FEED_STATE}
    values["title"] = sa.func.coalesce(sa.bindparam("v_title", type_=sa.Text), feeds.c.title)
    values["lease_until"] = None
    values["lease_owner"] = None
    return sa.update(feeds).where(feeds.c.id == sa.bindparam("v_id")).values(values)


def apply_update(conn: sa.Connection, feed_id: int, update: FeedUpdate) -> None:
    """Write a feed's state after a poll (and release its lease), in the caller's transaction."""
    apply_updates(conn, [(feed_id, update)])


def apply_updates(conn: sa.Connection, updates: Sequence[tuple[int, FeedUpdate]]) -> None:
    """Write several feeds' states at once (one executemany), in the caller's transaction."""
    rows = []
    for feed_id, update in updates:
        params = {f"v_{name}": getattr(update, name) for name in FEED_STATE}
        params.update(v_id=feed_id, v_title=update.title or None)
        announce(log, feed_id, update)
        rows.append(params)
    if rows:
        conn.execute(_update_statement(), rows)


def list_feeds(engine: sa.Engine, *, include_removed: bool = False) -> list[Feed]:
    """All feeds, config ones first, then by URL."""
    query = sa.select(feeds).order_by(feeds.c.source != "config", feeds.c.url)
    if not include_removed:
        query = query.where(feeds.c.source != "removed")
    with engine.connect() as conn:
        return [_feed(r) for r in conn.execute(query)]


def get_feed(engine: sa.Engine, url: str) -> Feed | None:
    """The feed with this URL (as configured or added, or its current URL after a move)."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(feeds).where(sa.or_(feeds.c.url == url, feeds.c.current_url == url))
        ).first()
    return _feed(row) if row is not None else None


def add_feed(engine: sa.Engine, url: str, *, name: str, now: datetime) -> Feed:
    """Add a feed managed from the command line (or bring back a removed one)."""
    with engine.begin() as conn:
        row = conn.execute(sa.select(feeds).where(feeds.c.url == url)).first()
        if row is not None and row.source not in ("removed", "cli"):
            raise FeedError(f"{url} is already a feed (source: {row.source})")
        values = {"name": name, "source": "added", "enabled": True, "retired": False}
        if row is None:
            conn.execute(
                sa.insert(feeds).values(url=url, created_at=now, next_poll_at=now, **values)
            )
        else:
            conn.execute(
                sa.update(feeds).where(feeds.c.id == row.id).values(next_poll_at=now, **values)
            )
    feed = get_feed(engine, url)
    assert feed is not None
    return feed


def _managed(conn: sa.Connection, url: str, action: str) -> Any:
    row = conn.execute(
        sa.select(feeds).where(
            sa.or_(feeds.c.url == url, feeds.c.current_url == url), feeds.c.source != "removed"
        )
    ).first()
    if row is None:
        raise FeedError(f"{url} is not a feed; see `watcher feeds list`")
    if row.source == "config" and action != "enable":
        raise FeedError(f"{row.url} is listed in config.toml; {action} it there")
    return row


def remove_feed(engine: sa.Engine, url: str) -> None:
    """Delete an added feed; one whose entries are stored is kept as "removed" (never polled)."""
    with engine.begin() as conn:
        row = _managed(conn, url, "remove")
        used = conn.execute(
            sa.select(sa.func.count()).select_from(entries).where(entries.c.feed_id == row.id)
        ).scalar_one()
        if used:
            conn.execute(
                sa.update(feeds)
                .where(feeds.c.id == row.id)
                .values(source="removed", enabled=False, lease_until=None, lease_owner=None)
            )
        else:
            conn.execute(sa.delete(entry_feeds).where(entry_feeds.c.feed_id == row.id))
            conn.execute(sa.delete(feeds).where(feeds.c.id == row.id))


def set_enabled(engine: sa.Engine, url: str, enabled: bool, *, now: datetime) -> Feed:
    """Enable (also un-retiring and making it due now) or disable a feed."""
    with engine.begin() as conn:
        row = _managed(conn, url, "enable" if enabled else "disable")
        if enabled and row.source == "config" and not row.enabled:
            raise FeedError(f"{row.url} is disabled in config.toml; enable it there")
        values: dict[str, Any] = {"enabled": enabled}
        if enabled:
            values.update(retired=False, next_poll_at=now, failures=0, first_failure_at=None)
        conn.execute(sa.update(feeds).where(feeds.c.id == row.id).values(**values))
    feed = get_feed(engine, row.url)
    assert feed is not None
    return feed


def health(engine: sa.Engine) -> list[FeedHealth]:
    """Every feed with its state and how many entries and matches it brought."""
    seen = (
        sa.select(entry_feeds.c.feed_id, sa.func.count().label("n"))
        .group_by(entry_feeds.c.feed_id)
        .subquery()
    )
    matched = (
        sa.select(entry_feeds.c.feed_id, sa.func.count(sa.distinct(matches.c.id)).label("n"))
        .join(matches, matches.c.entry_id == entry_feeds.c.entry_id)
        .group_by(entry_feeds.c.feed_id)
        .subquery()
    )
    query = (
        sa.select(feeds, seen.c.n.label("n_entries"), matched.c.n.label("n_matches"))
        .outerjoin(seen, seen.c.feed_id == feeds.c.id)
        .outerjoin(matched, matched.c.feed_id == feeds.c.id)
        .where(feeds.c.source != "removed")
        .order_by(feeds.c.source != "config", feeds.c.url)
    )
    with engine.connect() as conn:
        return [
            FeedHealth(
                feed=_feed(r),
                last_polled_at=as_utc(r.last_polled_at),
                last_http_status=r.last_http_status,
                warning=r.warning,
                entries=int(r.n_entries or 0),
                matches=int(r.n_matches or 0),
            )
            for r in conn.execute(query)
        ]
