"""The ``meta`` table as a small key/value store (schema version aside): read a value, write one."""

from __future__ import annotations

import sqlalchemy as sa

from .entries import insert_ignore
from .schema import meta


def get(conn: sa.Connection, key: str) -> str | None:
    """The value stored under ``key``, or None."""
    value = conn.execute(sa.select(meta.c.value).where(meta.c.key == key)).scalar_one_or_none()
    return None if value is None else str(value)


def put(conn: sa.Connection, key: str, value: str) -> None:
    """Store ``value`` under ``key``: update the row, else insert it (another process inserting the
    same key at the same moment wins that race instead of failing this transaction)."""
    if conn.execute(sa.update(meta).where(meta.c.key == key).values(value=value)).rowcount == 0:
        conn.execute(insert_ignore(conn, meta).values(key=key, value=value))
