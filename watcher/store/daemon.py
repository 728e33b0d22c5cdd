"""The daemon's heartbeat and the facts it needs to catch up on a missed digest."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from . import as_utc, kv
from .schema import digests

HEARTBEAT_KEY = "daemon"


def write_heartbeat(engine: sa.Engine, state: dict[str, Any]) -> None:
    with engine.begin() as conn:
        kv.put(conn, HEARTBEAT_KEY, json.dumps(state, default=str))


def read_heartbeat(engine: sa.Engine) -> dict[str, Any] | None:
    with engine.connect() as conn:
        value = kv.get(conn, HEARTBEAT_KEY)
    if value is None:
        return None
    data = json.loads(value)
    return data if isinstance(data, dict) else None


def first_started(engine: sa.Engine, now: datetime) -> datetime:
    """When a daemon first ran on this database (recorded on the first call)."""
    with engine.begin() as conn:
        value = kv.get(conn, "daemon_first_start")
        if value is None:
            kv.put(conn, "daemon_first_start", now.isoformat())
            return now
    return datetime.fromisoformat(value)


def last_digest_at(engine: sa.Engine) -> datetime | None:
    with engine.connect() as conn:
        return as_utc(
            conn.execute(sa.select(sa.func.max(digests.c.created_at))).scalar_one_or_none()
        )
