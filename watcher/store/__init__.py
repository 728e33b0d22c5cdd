"""The store: one SQLAlchemy engine over SQLite (WAL) or PostgreSQL, with versioned migrations.

Submodules hold the typed queries of each area: ``entries`` (what is new, recording a poll),
``feeds`` (feed state, claims, health), ``digests`` (pending matches, sent digests), ``topics``
(labels, rescoring).  Opening the engine and migrating live in ``engine``; their names are
re-exported here but imported on first use, so that the standard-library parts (``now_utc``,
``as_utc``, ``SQLITE_PRAGMAS``) cost no SQLAlchemy import: ``watcher fetch`` over an unchanged
SQLite file never needs it (issue 16).
"""

from __future__ import annotations

import importlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import schema
    from .engine import (
        MIGRATION_LOCK,
        SCHEMA_VERSION,
        connect,
        engine_url,
        is_postgres,
        migrate,
        open_db,
        schema_version,
    )

__all__ = [
    "MIGRATION_LOCK",
    "SCHEMA_VERSION",
    "SQLITE_PRAGMAS",
    "as_utc",
    "connect",
    "engine_url",
    "is_postgres",
    "migrate",
    "now_utc",
    "open_db",
    "schema",
    "schema_version",
]

# Every SQLite connection of the store, SQLAlchemy's and the stdlib cycle's (cycle_lite), runs these.
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=30000",
)
_ENGINE_NAMES = frozenset(__all__) - {"SQLITE_PRAGMAS", "as_utc", "now_utc", "schema"}


def now_utc() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes: they are UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def __getattr__(name: str) -> Any:
    """The SQLAlchemy parts, imported when first asked for (PEP 562)."""
    if name in _ENGINE_NAMES:
        return getattr(importlib.import_module(f"{__name__}.engine"), name)
    if name == "schema":
        return importlib.import_module(f"{__name__}.schema")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
