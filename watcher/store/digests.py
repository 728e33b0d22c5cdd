"""Digest queries: pending matches, recording and marking digests, feed health, cycle stats.

Exactly once — the life of a digest (``digests.status``; the states and their allowed moves are
declared in ``watcher.digest_state``, and every update here is guarded by them)::

    unclaimed matches ──record()──▶ 'pending'  one transaction: the row with its Message-ID and
    (digest_id NULL)                   │        frozen payload, and the claim of its matches
                 ┌── send accepted ────┤
                 ▼                     ├── refused (definitely not delivered) ──▶ 'failed':
              'sent'                   │     its matches are released (digest_id = NULL) and the
                                       │     next digest carries them with whatever came since
                                       └── crash, timeout, connection lost mid-send (uncertain):
                                             stays 'pending'; the next run first resends the SAME
                                             digest (same payload, same Message-ID), so a copy the
                                             server did accept is a duplicate that mail clients
                                             drop — never a second, different digest with the
                                             same items.

Across processes and workers (issue 13) one sender at a time holds ``sender_lock``: a second one
waits, then finds nothing pending.  A match is claimed by at most one digest (the claim only takes
rows whose ``digest_id`` is NULL and the transaction fails if any was taken meanwhile), so each
match is in exactly one delivered digest.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa

from ..digest import FeedProblem, Health, Stats, clean
from ..digest_state import DigestState, sources, transition
from ..errors import StoreError
from ..models import StoredMatch
from . import as_utc
from .schema import articles, cycles, digests, entries, feeds, matches

SENDER_LOCK = 0x77646967  # "wdig": the advisory lock key of the digest sender on PostgreSQL


@contextlib.contextmanager
def sender_lock(engine: sa.Engine) -> Iterator[None]:
    """Held while one process resends, builds, records and delivers digests (issue 13).

    PostgreSQL: a session advisory lock on a connection of its own, so a second sender (another
    worker, a `watcher digest` by hand) waits, then finds the matches claimed and nothing pending.
    SQLite: an OS lock on a file beside the database, with the same effect on one machine.  The
    lock goes with the session or the process, so a crashed sender never leaves it held.
    """
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(sa.select(sa.func.pg_advisory_lock(SENDER_LOCK)))
            conn.commit()
            try:
                yield
            finally:
                conn.execute(sa.select(sa.func.pg_advisory_unlock(SENDER_LOCK)))
                conn.commit()
        return
    path = engine.url.database
    if not path or path == ":memory:":
        yield
        return
    fd = os.open(path + ".digest-lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing drops the lock


class ClaimConflict(StoreError):
    """Another digest claimed some of these matches first (two senders at once)."""


@dataclass(frozen=True, slots=True)
class StoredDigest:
    """A digest as recorded: its frozen payload (``digest.to_dict`` JSON) and delivery state."""

    id: str
    message_id: str
    created_at: datetime
    status: DigestState  # one of digest_state.STORED
    items: int
    payload: str
    sent_at: datetime | None = None
    error: str | None = None
    path: str | None = None


def _source(row: Any) -> str:
    for name in (row.sitename, row.feed_name, row.feed_title):
        if name and name.strip():
            return str(name).strip()
    return str(urlsplit(row.url).hostname or row.url)


def _details(text: str) -> dict[str, object]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _select() -> sa.Select[Any]:
    return (
        sa.select(
            matches.c.id.label("match_id"),
            matches.c.entry_id,
            matches.c.topic,
            matches.c.score,
            matches.c.reasons,
            matches.c.details,
            matches.c.digest_id,
            entries.c.url,
            entries.c.title,
            entries.c.summary,
            entries.c.published_at.label("entry_published"),
            entries.c.first_seen_at,
            feeds.c.url.label("feed_url"),
            feeds.c.name.label("feed_name"),
            feeds.c.title.label("feed_title"),
            articles.c.title.label("article_title"),
            articles.c.sitename,
            articles.c.language,
            articles.c.published_at.label("article_published"),
            articles.c.text,
        )
        .select_from(
            matches.join(entries, entries.c.id == matches.c.entry_id)
            .join(feeds, feeds.c.id == entries.c.feed_id)
            .outerjoin(articles, articles.c.entry_id == entries.c.id)
        )
        .order_by(matches.c.id)
    )


def _match(row: Any) -> StoredMatch:
    first_seen = as_utc(row.first_seen_at)
    assert first_seen is not None
    return StoredMatch(
        match_id=row.match_id,
        entry_id=row.entry_id,
        topic=row.topic,
        score=float(row.score),
        reasons=row.reasons or "",
        details=_details(row.details),
        url=row.url,
        title=row.title or row.article_title or "",
        source=_source(row),
        feed_url=row.feed_url,
        language=row.language,
        # Feed-first, as store/entries.py records it: the page's date only when the feed has none.
        published=as_utc(row.entry_published or row.article_published),
        first_seen=first_seen,
        text=row.text or row.summary or "",
        digest_id=row.digest_id,
    )


def pending_matches(engine: sa.Engine) -> list[StoredMatch]:
    """Matches no digest has claimed yet."""
    with engine.connect() as conn:
        return [_match(r) for r in conn.execute(_select().where(matches.c.digest_id.is_(None)))]


def matches_since(engine: sa.Engine, since: datetime) -> list[StoredMatch]:
    """Every match recorded since ``since``, sent or not (for a look back)."""
    with engine.connect() as conn:
        return [_match(r) for r in conn.execute(_select().where(matches.c.matched_at >= since))]


def claimed_since(engine: sa.Engine, since: datetime) -> list[StoredMatch]:
    """Matches recorded since ``since`` that a digest has already claimed (to spot follow-ups)."""
    query = _select().where(matches.c.matched_at >= since, matches.c.digest_id.is_not(None))
    with engine.connect() as conn:
        return [_match(r) for r in conn.execute(query)]


def recent_matches(engine: sa.Engine, limit: int) -> list[StoredMatch]:
    """The ``limit`` most recently recorded matches (for the Atom feed)."""
    query = (
        _select()
        .order_by(None)
        .order_by(matches.c.matched_at.desc(), matches.c.id.desc())
        .limit(limit)
    )
    with engine.connect() as conn:
        return [_match(r) for r in conn.execute(query)]


def record(
    engine: sa.Engine,
    *,
    digest_id: str,
    message_id: str,
    created_at: datetime,
    payload: str,
    items: int,
    match_ids: Sequence[int],
    path: str | None,
) -> None:
    """Record a digest as 'pending' and claim its matches, in one transaction (all or nothing)."""
    with engine.begin() as conn:
        conn.execute(
            sa.insert(digests).values(
                id=digest_id,
                message_id=message_id,
                created_at=created_at,
                status=transition(None, DigestState.PENDING),
                items=items,
                payload=payload,
                path=path,
            )
        )
        ids = sorted(set(match_ids))
        claimed = 0
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            result = conn.execute(
                sa.update(matches)
                .where(matches.c.id.in_(chunk), matches.c.digest_id.is_(None))
                .values(digest_id=digest_id)
            )
            claimed += result.rowcount
        if claimed != len(ids):
            raise ClaimConflict(
                f"digest {digest_id}: {len(ids) - claimed} of {len(ids)} matches "
                "were claimed by another digest"
            )


def mark_sent(engine: sa.Engine, digest_id: str, at: datetime) -> None:
    """The digest was delivered."""
    with engine.begin() as conn:
        conn.execute(
            sa.update(digests)
            .where(digests.c.id == digest_id, digests.c.status.in_(sources(DigestState.SENT)))
            .values(status=DigestState.SENT, sent_at=at, error=None)
        )


def mark_failed(engine: sa.Engine, digest_id: str, error: str) -> int:
    """Definitely not delivered: mark the digest failed, release its matches; how many."""
    with engine.begin() as conn:
        moved = conn.execute(
            sa.update(digests)
            .where(digests.c.id == digest_id, digests.c.status.in_(sources(DigestState.FAILED)))
            .values(status=DigestState.FAILED, error=error)
        )
        if not moved.rowcount:  # not pending: a sent digest keeps its matches
            return 0
        released = conn.execute(
            sa.update(matches).where(matches.c.digest_id == digest_id).values(digest_id=None)
        )
        return int(released.rowcount)


def reopen(engine: sa.Engine, digest_id: str, match_ids: Sequence[int]) -> None:
    """Make a failed digest pending again, taking back its matches that are still unclaimed."""
    with engine.begin() as conn:
        moved = conn.execute(
            sa.update(digests)
            .where(digests.c.id == digest_id, digests.c.status.in_(sources(DigestState.PENDING)))
            .values(status=DigestState.PENDING)
        )
        if not moved.rowcount:  # not failed: nothing to take back
            return
        ids = sorted(set(match_ids))
        for i in range(0, len(ids), 500):
            conn.execute(
                sa.update(matches)
                .where(matches.c.id.in_(ids[i : i + 500]), matches.c.digest_id.is_(None))
                .values(digest_id=digest_id)
            )


def note_error(engine: sa.Engine, digest_id: str, error: str) -> None:
    """An attempt with an uncertain outcome: keep the digest pending (it will be resent as is)."""
    with engine.begin() as conn:
        conn.execute(sa.update(digests).where(digests.c.id == digest_id).values(error=error))


def _stored(row: Any) -> StoredDigest:
    created = as_utc(row.created_at)
    assert created is not None
    return StoredDigest(
        id=row.id,
        message_id=row.message_id,
        created_at=created,
        status=DigestState(row.status),
        items=row.items,
        payload=row.payload,
        sent_at=as_utc(row.sent_at),
        error=row.error,
        path=row.path,
    )


def load(engine: sa.Engine, digest_id: str) -> StoredDigest | None:
    with engine.connect() as conn:
        row = conn.execute(sa.select(digests).where(digests.c.id == digest_id)).one_or_none()
    return _stored(row) if row is not None else None


def unfinished(engine: sa.Engine) -> list[StoredDigest]:
    """Digests recorded but not known to be delivered, oldest first (resent before anything new)."""
    query = (
        sa.select(digests)
        .where(digests.c.status == DigestState.PENDING)
        .order_by(digests.c.created_at, digests.c.id)
    )
    with engine.connect() as conn:
        return [_stored(r) for r in conn.execute(query)]


def list_digests(engine: sa.Engine, limit: int = 20) -> list[StoredDigest]:
    query = (
        sa.select(digests).order_by(digests.c.created_at.desc(), digests.c.id.desc()).limit(limit)
    )
    with engine.connect() as conn:
        return [_stored(r) for r in conn.execute(query)]


def paths(engine: sa.Engine) -> set[str]:
    """The file stems of every recorded digest (so a new one never takes a sent one's name)."""
    with engine.connect() as conn:
        return {
            p for (p,) in conn.execute(sa.select(digests.c.path).where(digests.c.path.is_not(None)))
        }


def last_digest_at(engine: sa.Engine) -> datetime | None:
    """When the last digest that went out (or is on its way) was made."""
    query = sa.select(sa.func.max(digests.c.created_at)).where(
        digests.c.status.in_((DigestState.SENT, DigestState.PENDING))
    )
    with engine.connect() as conn:
        return as_utc(conn.execute(query).scalar())


def feed_health(
    engine: sa.Engine, now: datetime, *, failing_for: timedelta = timedelta(days=1)
) -> Health:
    """Feeds failing for longer than ``failing_for``, and retired feeds."""
    cols = (
        feeds.c.url,
        feeds.c.name,
        feeds.c.title,
        feeds.c.failures,
        feeds.c.first_failure_at,
        feeds.c.last_error,
    )
    failing_q = (
        sa.select(*cols)
        .where(
            feeds.c.retired.is_(False),
            feeds.c.enabled.is_(True),
            feeds.c.failures > 0,
            feeds.c.first_failure_at <= now - failing_for,
        )
        .order_by(feeds.c.first_failure_at, feeds.c.url)
    )
    retired_q = sa.select(*cols).where(feeds.c.retired.is_(True)).order_by(feeds.c.url)
    with engine.connect() as conn:
        failing = [_problem(r) for r in conn.execute(failing_q)]
        retired = [_problem(r) for r in conn.execute(retired_q)]
    return Health(failing=tuple(failing), retired=tuple(retired))


def _problem(row: Any) -> FeedProblem:
    return FeedProblem(
        name=clean(row.name or row.title or ""),
        url=clean(row.url),
        since=as_utc(row.first_failure_at),
        failures=int(row.failures or 0),
        error=clean(row.last_error or "")[:300],
    )


def cycle_stats(engine: sa.Engine, since: datetime) -> Stats:
    """Poll cycles since ``since``: how many, feeds polled, errors, new entries, last one."""
    q = sa.select(
        sa.func.count(cycles.c.id),
        sa.func.coalesce(sa.func.sum(cycles.c.feeds), 0),
        sa.func.coalesce(sa.func.sum(cycles.c.errors), 0),
        sa.func.coalesce(sa.func.sum(cycles.c.new_entries), 0),
        sa.func.max(sa.func.coalesce(cycles.c.finished_at, cycles.c.started_at)),
        sa.func.max(cycles.c.feeds),
    ).where(cycles.c.started_at >= since)
    polled = sa.select(sa.func.count(feeds.c.id)).where(feeds.c.last_polled_at >= since)
    with engine.connect() as conn:
        n, polls, errors, new, last, widest = conn.execute(q).one()
        distinct = int(conn.execute(polled).scalar() or 0)
    return Stats(
        cycles=int(n),
        feeds=distinct or int(widest or 0),  # feeds.last_polled_at may not be kept up to date
        polls=int(polls),
        errors=int(errors),
        new_entries=int(new),
        last_cycle_at=as_utc(last),
    )
