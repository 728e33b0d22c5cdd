"""Copy one database into another (``watcher db copy``): SQLite into PostgreSQL, or back.

Every table but ``meta`` (the target has its own schema version) and ``workers`` (live processes
of the source, not data) is copied row for row, parents before children, in one transaction on
the target: all or nothing.  A target that holds any row is refused.  PostgreSQL's id sequences
are moved past the copied ids so new rows never collide.  Times read back naive from SQLite are UTC
and are written as such; NUL characters, which PostgreSQL text cannot hold, are dropped (counted).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from ..errors import StoreError
from .schema import alerts_metadata, meta, metadata, workers

BATCH = 1000
SKIPPED = (meta, workers)


@dataclass(frozen=True, slots=True)
class Copied:
    """What ``copy`` did: rows a table, and how many text values lost a NUL character."""

    rows: dict[str, int]
    nul_stripped: int = 0


def data_tables() -> list[sa.Table]:
    """The tables copied, parents first (foreign keys; the alert tables refer to matches)."""
    tables = [*metadata.sorted_tables, *alerts_metadata.sorted_tables]
    return [t for t in tables if t not in SKIPPED]


def row_counts(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t.name: int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
            for t in data_tables()
        }


def _clean(value: Any, stripped: list[int]) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, str) and "\x00" in value:
        stripped[0] += 1
        return value.replace("\x00", "")
    return value


def _batches(conn: sa.Connection, table: sa.Table) -> Iterator[list[dict[str, Any]]]:
    order = list(table.primary_key.columns) or list(table.columns)[:1]
    result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(
        sa.select(table).order_by(*order)
    )
    for part in result.mappings().partitions(BATCH):
        yield [dict(r) for r in part]


def _reset_sequences(conn: sa.Connection, table: sa.Table) -> None:
    """PostgreSQL: the next generated id comes after the largest copied one."""
    for col in table.primary_key.columns:
        if isinstance(col.type, sa.Integer) and col.autoincrement in (True, "auto"):
            conn.execute(
                sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', '{col.name}'), "
                    f"COALESCE((SELECT MAX({col.name}) FROM {table.name}), 1), "
                    f"(SELECT MAX({col.name}) FROM {table.name}) IS NOT NULL)"
                )
            )


def copy(source: sa.Engine, target: sa.Engine) -> Copied:
    """Copy every row of ``source`` into the empty ``target`` (both at the same schema version)."""
    filled = {name: n for name, n in row_counts(target).items() if n}
    if filled:
        what = ", ".join(f"{name} ({n} rows)" for name, n in sorted(filled.items()))
        raise StoreError(
            f"{target.url.render_as_string(hide_password=True)} is not empty: {what}; "
            "copy only into a new database"
        )
    rows: dict[str, int] = {}
    stripped = [0]
    with source.connect() as src, target.begin() as dst:
        for table in data_tables():
            n = 0
            for batch in _batches(src, table):
                dst.execute(
                    sa.insert(table),
                    [{k: _clean(v, stripped) for k, v in row.items()} for row in batch],
                )
                n += len(batch)
            rows[table.name] = n
            if dst.dialect.name == "postgresql":
                _reset_sequences(dst, table)
    copied = row_counts(target)
    wrong = {k: (rows[k], v) for k, v in copied.items() if rows.get(k) != v}
    if wrong:
        raise StoreError(f"copy incomplete (read, written): {wrong}")
    return Copied(rows, stripped[0])


__all__ = ["Copied", "copy", "data_tables", "row_counts"]
