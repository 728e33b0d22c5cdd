"""The fleet: worker rows with heartbeats, a scheduled digest claimed once, the shared host gate.

Every ``watcher run`` registers a row in ``workers`` (id, host, pid, started, heartbeat, version)
and beats every few seconds, renewing the leases of the feeds it is polling; ``watcher status``
lists them.  A worker whose heartbeat is older than
``STALE_AFTER`` is shown as gone; its feed leases simply run out.

Exactly one worker sends each scheduled digest: the first to insert the slot's row in
``digest_slots`` (primary key: the scheduled time) sends it, the others see the row and skip.

Per-host politeness across the fleet: before a request to a host, a worker reserves the next start
time in ``hosts`` with one atomic UPSERT (``next_at = max(next_at, now) + gap``) and waits until the
start it was given, so the whole fleet keeps ``min_host_gap`` between requests to one host.

A host's concurrency across the fleet (issue 13b): a request in flight holds one of the host's
``per_host_concurrency`` rows in ``host_slots``, leased until a time on the server's clock.  One
UPSERT takes a free or expired slot (``take_host_slot``), one DELETE gives it back; a worker killed
while holding one leaves a row that the next taker overwrites once its lease is past.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
from datetime import UTC, datetime, timedelta
from importlib import metadata as importlib_metadata
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite  # postgresql's dialect is imported when it is used

from ..health import STALE_AFTER, Worker, worker_state
from . import as_utc, schema_version
from .schema import SCHEMA_VERSION, digest_slots, feeds, host_slots, hosts, workers

BEAT_EVERY = 30.0


def watcher_version() -> str:
    try:
        return importlib_metadata.version("watcher")
    except importlib_metadata.PackageNotFoundError:
        return "unknown"


def new_worker_id() -> str:
    """host:pid:random — unique even when a pid is reused after a restart."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


def register(engine: sa.Engine, worker_id: str, now: datetime) -> None:
    """Add this worker; forget workers silent for a day (their leases ran out long ago) and hosts
    nobody asked for a day (their reservations are long past)."""
    with engine.begin() as conn:
        conn.execute(sa.delete(workers).where(workers.c.heartbeat < now - timedelta(days=1)))
        conn.execute(sa.delete(hosts).where(hosts.c.next_at < now - timedelta(days=1)))  # idle hosts
        conn.execute(
            sa.insert(workers).values(
                id=worker_id,
                host=socket.gethostname(),
                pid=os.getpid(),
                started=now,
                heartbeat=now,
                version=watcher_version(),
                schema=SCHEMA_VERSION,
            )
        )


def beat(
    engine: sa.Engine,
    worker_id: str,
    now: datetime,
    state: dict[str, Any],
    *,
    lease_seconds: float | None = None,
) -> int:
    """Record a heartbeat; return the database's schema version (a newer one means: stop).

    With ``lease_seconds``, the leases this worker holds are renewed to ``now + lease_seconds``:
    a batch that takes longer than one lease (a slow host, a loaded machine) keeps its feeds, and
    the leases of a worker that died still run out one lease after its last beat.
    """
    with engine.begin() as conn:
        if lease_seconds is not None:
            conn.execute(
                sa.update(feeds)
                .where(feeds.c.lease_owner == worker_id[:64], feeds.c.lease_until > now)
                .values(lease_until=now + timedelta(seconds=lease_seconds))
            )
        updated = conn.execute(
            sa.update(workers)
            .where(workers.c.id == worker_id)
            .values(heartbeat=now, state=json.dumps(state, default=str))
        )
        if updated.rowcount == 0:  # pruned while this worker was stopped in a debugger, say
            conn.execute(
                sa.insert(workers).values(
                    id=worker_id, host=socket.gethostname(), pid=os.getpid(), started=now,
                    heartbeat=now, version=watcher_version(), schema=SCHEMA_VERSION,
                    state=json.dumps(state, default=str),
                )
            )  # fmt: skip
        return schema_version(conn)


def unregister(engine: sa.Engine, worker_id: str) -> None:
    """A stop: drop the worker's row.

    Its leases are kept: a cycle that finished holds none, and one cut short may already have
    fetched its feeds, so releasing them would let another worker fetch them again at once.
    """
    with engine.begin() as conn:
        conn.execute(sa.delete(workers).where(workers.c.id == worker_id))


def list_workers(engine: sa.Engine) -> list[Worker]:
    """Every registered worker, most recent heartbeat first."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(workers).order_by(workers.c.heartbeat.desc(), workers.c.id))
        out = []
        for r in rows:
            started, heartbeat = as_utc(r.started), as_utc(r.heartbeat)
            assert started is not None and heartbeat is not None
            state = worker_state(r.state)
            out.append(Worker(r.id, r.host, r.pid, started, heartbeat, r.version, r.schema, state))
        return out


def _insert_ignore(conn: sa.Connection, table: sa.Table) -> Any:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


def claim_digest_slot(engine: sa.Engine, slot: datetime, owner: str, now: datetime) -> bool:
    """True for the one worker that takes the digest scheduled at ``slot``; False for the rest."""
    with engine.begin() as conn:
        won = conn.execute(
            _insert_ignore(conn, digest_slots).returning(digest_slots.c.slot),
            {"slot": slot.isoformat(), "owner": owner[:64], "claimed_at": now},
        ).first()
        conn.execute(sa.delete(digest_slots).where(digest_slots.c.claimed_at < now - timedelta(days=30)))
        return won is not None


def reserve_host(conn: sa.Connection, host: str, gap: float) -> float:
    """Reserve the next request start to ``host`` for the whole fleet; seconds to wait for it.

    PostgreSQL: one atomic UPSERT timed by the server's clock (workers' clocks may differ):
    ``next_at = max(next_at, now()) + gap``, and this request starts at the old value.
    """
    step = timedelta(seconds=gap)
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        now = sa.func.clock_timestamp()  # the statement's time, not the transaction's
        ins = postgresql.insert(hosts).values(host=host, next_at=now + step)
        stmt = ins.on_conflict_do_update(
            index_elements=[hosts.c.host],
            set_={"next_at": sa.func.greatest(hosts.c.next_at, now) + step},
        ).returning(sa.extract("epoch", hosts.c.next_at - now))
        return max(0.0, float(conn.execute(stmt).scalar_one()) - gap)
    # SQLite (one machine; the fleet gate is for PostgreSQL, this keeps the store's API whole):
    # a write first takes the database's write lock, so the read below cannot race another writer.
    conn.execute(sa.update(hosts).where(hosts.c.host == host).values(host=host))
    at = datetime.now(UTC)
    current = as_utc(
        conn.execute(sa.select(hosts.c.next_at).where(hosts.c.host == host)).scalar_one_or_none()
    )
    start = max(current or at, at)
    up = sqlite.insert(hosts).values(host=host, next_at=start + step)
    conn.execute(
        up.on_conflict_do_update(index_elements=[hosts.c.host], set_={"next_at": start + step})
    )
    return (start - at).total_seconds()


# One free slot (none, or its lease past), picked at random among the free so that workers racing
# for one host rarely pick the same; the UPSERT's WHERE is re-checked on the committed row, so of
# two racers for one slot exactly one gets it and the other gets no row (and tries again).
_TAKE = sa.text(
    """
    INSERT INTO host_slots (host, slot, owner, until)
    SELECT :host, s, :owner, clock_timestamp() + make_interval(secs => :lease)
    FROM generate_series(0, :limit - 1) AS s
    WHERE NOT EXISTS (
        SELECT 1 FROM host_slots h
        WHERE h.host = :host AND h.slot = s AND h.until >= clock_timestamp()
    )
    ORDER BY random() LIMIT 1
    ON CONFLICT (host, slot) DO UPDATE SET owner = EXCLUDED.owner, until = EXCLUDED.until
    WHERE host_slots.until < clock_timestamp()
    RETURNING slot
    """
)


def take_host_slot(conn: sa.Connection, host: str, limit: int, owner: str, lease: float) -> int | None:
    """Take one of ``host``'s ``limit`` slots for ``lease`` seconds; its number, or None when all
    are held (PostgreSQL only: the fleet's concurrency gate)."""
    row = conn.execute(
        _TAKE, {"host": host, "owner": owner, "lease": lease, "limit": limit}
    ).first()
    return None if row is None else int(row[0])


def release_host_slot(conn: sa.Connection, host: str, slot: int, owner: str) -> None:
    """Give a slot back; a lease that ran out and was taken by another worker is left alone."""
    conn.execute(
        sa.delete(host_slots).where(
            host_slots.c.host == host, host_slots.c.slot == slot, host_slots.c.owner == owner
        )
    )


__all__ = [
    "BEAT_EVERY",
    "STALE_AFTER",
    "Worker",
    "beat",
    "claim_digest_slot",
    "list_workers",
    "new_worker_id",
    "register",
    "release_host_slot",
    "reserve_host",
    "take_host_slot",
    "unregister",
    "watcher_version",
]
