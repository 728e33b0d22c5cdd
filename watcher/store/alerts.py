"""Alert queries: the queue of matches to alert and the outbox of alert messages (issue 15).

Exactly once — the life of a match's alert::

    match recorded ──enqueue()──▶ alerts row 'queued' (or 'skipped': below min_score, --no-alerts,
                                  or matched before alerts were turned on); the row's primary key is
                                  the match, so a match is considered once, whoever enqueues it
    'queued' ──record_message()──▶ 'batched' into one alert_messages row 'pending' with its frozen
                                  payload, in one transaction (a burst of queued matches = one message)
    'pending' ──every target accepted──▶ 'sent'; a target that refused is retried later (backoff)
                                  with the same payload, the targets that accepted are not sent it
                                  again; a crash before the send leaves it 'pending': the next run sends it

A crash after a target accepted but before that was written down sends that target the same message
once more (it carries its id) — the one window where a copy can repeat; nothing is ever lost.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ..errors import StoreError
from ..models import StoredMatch
from . import as_utc, kv
from .digests import _match, _select
from .entries import insert_ignore
from .schema import alert_messages, alerts, matches, meta

SINCE_KEY = "alerts_since"


class AlertClaimConflict(StoreError):
    """Another sender batched some of these matches first."""


@dataclass(frozen=True, slots=True)
class StoredMessage:
    id: str
    created_at: datetime
    status: str
    payload: str
    delivered: frozenset[str]
    attempts: int
    next_attempt_at: datetime | None
    error: str | None
    sent_at: datetime | None


def _since(conn: sa.Connection, floor: datetime) -> datetime:
    """When alerts were turned on (recorded the first time): older matches are never alerted."""
    row = kv.get(conn, SINCE_KEY)
    if row is not None:
        return datetime.fromisoformat(row)
    conn.execute(insert_ignore(conn, meta).values(key=SINCE_KEY, value=floor.isoformat()))
    value = conn.execute(sa.select(meta.c.value).where(meta.c.key == SINCE_KEY)).scalar_one()
    return datetime.fromisoformat(value)


def enqueue(
    engine: sa.Engine,
    *,
    threshold: Callable[[str], float],
    floor: datetime,
    now: datetime,
    skip: str = "",
) -> int:
    """Consider every match not yet considered: queue those at or above their topic's threshold.

    ``floor``: the start of alerting the first time (matches before it are skipped).  ``skip``: a
    reason to skip all of them instead (``--no-alerts``).  Returns how many were queued.
    """
    with engine.begin() as conn:
        since = _since(conn, floor)
        query = (
            sa.select(matches.c.id, matches.c.topic, matches.c.score, matches.c.matched_at)
            .select_from(matches.outerjoin(alerts, alerts.c.match_id == matches.c.id))
            .where(alerts.c.match_id.is_(None))
            .order_by(matches.c.id)
        )
        rows = []
        for mid, topic, score, matched_at in conn.execute(query):
            reason = skip
            if not reason and (as_utc(matched_at) or now) < since:
                reason = "before-alerts"
            elif not reason and float(score) < threshold(topic):
                reason = "below-min-score"
            status = "skipped" if reason else "queued"
            rows.append({"match_id": mid, "status": status, "reason": reason, "created_at": now})
        for i in range(0, len(rows), 500):
            conn.execute(insert_ignore(conn, alerts), rows[i : i + 500])
    return sum(1 for r in rows if r["status"] == "queued")


def queued(engine: sa.Engine, limit: int | None = None) -> list[StoredMatch]:
    """Queued matches, oldest first."""
    query = _select().join(alerts, alerts.c.match_id == matches.c.id).where(alerts.c.status == "queued")
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as conn:
        return [_match(r) for r in conn.execute(query)]


def count_queued(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        query = sa.select(sa.func.count()).select_from(alerts).where(alerts.c.status == "queued")
        return int(conn.execute(query).scalar_one())


def record_message(
    engine: sa.Engine, *, message_id: str, now: datetime, payload: str, match_ids: Sequence[int]
) -> None:
    """Record a message as 'pending' and batch its matches into it, all or nothing."""
    with engine.begin() as conn:
        conn.execute(
            sa.insert(alert_messages).values(
                id=message_id, created_at=now, status="pending", payload=payload, delivered="[]"
            )
        )
        ids = sorted(set(match_ids))
        done = 0
        for i in range(0, len(ids), 500):
            done += conn.execute(
                sa.update(alerts)
                .where(alerts.c.match_id.in_(ids[i : i + 500]), alerts.c.status == "queued")
                .values(status="batched", message_id=message_id)
            ).rowcount
        if done != len(ids):
            raise AlertClaimConflict(f"alert {message_id}: {len(ids) - done} matches were taken")


def _stored(row: Any) -> StoredMessage:
    created = as_utc(row.created_at)
    assert created is not None
    return StoredMessage(
        id=row.id,
        created_at=created,
        status=row.status,
        payload=row.payload,
        delivered=frozenset(json.loads(row.delivered or "[]")),
        attempts=int(row.attempts),
        next_attempt_at=as_utc(row.next_attempt_at),
        error=row.error,
        sent_at=as_utc(row.sent_at),
    )


def pending(engine: sa.Engine) -> list[StoredMessage]:
    """Messages recorded and not yet accepted by every target, oldest first."""
    query = (
        sa.select(alert_messages)
        .where(alert_messages.c.status == "pending")
        .order_by(alert_messages.c.created_at, alert_messages.c.id)
    )
    with engine.connect() as conn:
        return [_stored(r) for r in conn.execute(query)]


def recent(engine: sa.Engine, limit: int = 20) -> list[StoredMessage]:
    query = (
        sa.select(alert_messages)
        .order_by(alert_messages.c.created_at.desc(), alert_messages.c.id.desc())
        .limit(limit)
    )
    with engine.connect() as conn:
        return [_stored(r) for r in conn.execute(query)]


def claim(
    engine: sa.Engine,
    message_id: str,
    now: datetime,
    lease: timedelta,
    owner: str,
    dead: Callable[[str], bool],
) -> bool:
    """Take the message for one send attempt (False: another live process has it).

    A lease ends when it expires or when ``dead(owner)`` says its holder is gone (a crash).
    """
    m = alert_messages.c
    with engine.begin() as conn:
        row = conn.execute(
            sa.select(m.lease_until, m.lease_owner).where(m.id == message_id, m.status == "pending")
        ).one_or_none()
        if row is None:
            return False
        until, holder = as_utc(row.lease_until), row.lease_owner
        if until is not None and until >= now and not (holder and dead(holder)):
            return False
        same = m.lease_owner.is_(None) if holder is None else m.lease_owner == holder
        result = conn.execute(
            sa.update(alert_messages)
            .where(m.id == message_id, m.status == "pending", same)
            .values(lease_until=now + lease, lease_owner=owner)
        )
        return bool(result.rowcount == 1)


def mark_delivered(engine: sa.Engine, message_id: str, target: str) -> None:
    """One target accepted the message: never send it that message again."""
    with engine.begin() as conn:
        row = conn.execute(
            sa.select(alert_messages.c.delivered).where(alert_messages.c.id == message_id)
        ).scalar_one()
        done = sorted({*json.loads(row or "[]"), target})
        conn.execute(
            sa.update(alert_messages)
            .where(alert_messages.c.id == message_id)
            .values(delivered=json.dumps(done))
        )


def mark_sent(engine: sa.Engine, message_id: str, now: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.update(alert_messages)
            .where(alert_messages.c.id == message_id)
            .values(status="sent", sent_at=now, lease_until=None, lease_owner=None, error=None)
        )


def note_failure(engine: sa.Engine, message_id: str, error: str, retry_at: datetime) -> int:
    """An attempt failed: count it, keep the message pending until ``retry_at``; the attempts so far."""
    with engine.begin() as conn:
        conn.execute(
            sa.update(alert_messages)
            .where(alert_messages.c.id == message_id)
            .values(
                attempts=alert_messages.c.attempts + 1,
                next_attempt_at=retry_at,
                lease_until=None,
                lease_owner=None,
                error=error[:1000],
            )
        )
        return int(
            conn.execute(
                sa.select(alert_messages.c.attempts).where(alert_messages.c.id == message_id)
            ).scalar_one()
        )


def created_since(engine: sa.Engine, since: datetime) -> list[datetime]:
    """When the messages recorded since ``since`` were recorded (for max_per_hour), oldest first."""
    query = (
        sa.select(alert_messages.c.created_at)
        .where(alert_messages.c.created_at > since)
        .order_by(alert_messages.c.created_at)
    )
    with engine.connect() as conn:
        return [t for (v,) in conn.execute(query) if (t := as_utc(v)) is not None]


def counts(engine: sa.Engine) -> dict[str, int]:
    """Alerts by status (queued, batched, skipped) and messages by status (pending, sent)."""
    with engine.connect() as conn:
        out = {
            f"alerts_{s}": int(n)
            for s, n in conn.execute(
                sa.select(alerts.c.status, sa.func.count()).group_by(alerts.c.status)
            )
        }
        out |= {
            f"messages_{s}": int(n)
            for s, n in conn.execute(
                sa.select(alert_messages.c.status, sa.func.count()).group_by(alert_messages.c.status)
            )
        }
    return out


def alerts_since(engine: sa.Engine) -> datetime | None:
    """When alerts were turned on (None: not yet)."""
    with engine.connect() as conn:
        row = kv.get(conn, SINCE_KEY)
    return datetime.fromisoformat(row) if row is not None else None


def unconsidered(engine: sa.Engine, since: datetime) -> list[StoredMatch]:
    """Matches recorded since ``since`` that no enqueue has looked at yet (for a dry run)."""
    query = (
        _select()
        .outerjoin(alerts, alerts.c.match_id == matches.c.id)
        .where(alerts.c.match_id.is_(None), matches.c.matched_at >= since)
    )
    with engine.connect() as conn:
        return [_match(r) for r in conn.execute(query)]
