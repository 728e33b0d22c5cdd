"""Opening the store: an SQLAlchemy engine over SQLite (WAL) or PostgreSQL, and its migrations.

Kept out of ``watcher.store`` itself so that the stdlib parts of the store (``now_utc``, the
package's submodule names) import without SQLAlchemy: ``watcher fetch`` over an unchanged SQLite
file never needs it (issue 16).  ``watcher.store`` re-exports every name here.
"""

from __future__ import annotations

import os
import sqlite3
import weakref
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from ..errors import StoreError
from . import SQLITE_PRAGMAS, schema

SCHEMA_VERSION = schema.SCHEMA_VERSION


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    for pragma in SQLITE_PRAGMAS:
        cur.execute(pragma)
    cur.close()


def _prepare_file(url: sa.URL, mode: int) -> None:
    """Create the database file readable by its owner only (it holds what the analyst follows)."""
    path = url.database
    if not path or path == ":memory:":
        return
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    if not p.exists():
        fd = os.open(p, os.O_CREAT | os.O_WRONLY, mode)
        try:
            os.fchmod(fd, mode)  # exactly as configured, whatever the umask (-wal/-shm follow it)
        finally:
            os.close(fd)


def schema_version(conn: sa.Connection) -> int:
    if not sa.inspect(conn).has_table("meta"):
        return 0
    row = conn.execute(
        sa.select(schema.meta.c.value).where(schema.meta.c.key == "schema_version")
    ).scalar_one_or_none()
    return int(row) if row is not None else 0


MIGRATION_LOCK = 0x77617463  # "watc": the advisory lock key every migration takes on PostgreSQL


def is_postgres(bind: sa.Engine | sa.Connection) -> bool:
    return bind.dialect.name == "postgresql"


def migrate(engine: sa.Engine) -> int:
    """Bring the database to SCHEMA_VERSION; refuse one that is newer.

    On PostgreSQL the whole migration runs under a transaction-level advisory lock, so workers
    started at once (or a `watcher db migrate` beside running workers) migrate one at a time and
    the others find the work done; DDL is transactional there, so a failed step leaves nothing.
    """
    with engine.begin() as conn:
        if is_postgres(conn):
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(MIGRATION_LOCK)))
        version = schema_version(conn)
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{engine.url.render_as_string(hide_password=True)}: schema version {version} is newer "
                f"than this watcher understands ({SCHEMA_VERSION}); upgrade watcher"
            )
        while version < SCHEMA_VERSION:
            schema.MIGRATIONS[version](conn)
            version += 1
            values = {"key": "schema_version", "value": str(version)}
            updated = conn.execute(
                sa.update(schema.meta)
                .where(schema.meta.c.key == "schema_version")
                .values(value=str(version))
            )
            if updated.rowcount == 0:
                conn.execute(sa.insert(schema.meta).values(**values))
    return version


def engine_url(url: str) -> sa.URL:
    """The SQLAlchemy URL; a plain ``postgresql://`` (or ``postgres://``) URL means psycopg 3."""
    try:
        sa_url = sa.make_url(url)
    except sa.exc.ArgumentError as e:
        raise StoreError(f"{url!r} is not a database URL: {e}") from e
    if sa_url.drivername in ("postgresql", "postgres"):
        sa_url = sa_url.set(drivername="postgresql+psycopg")
    return sa_url


def connect(url: str, *, file_mode: int = 0o600) -> sa.Engine:
    """An engine on the database at ``url``, neither created nor migrated (``watcher db version``)."""
    sa_url = engine_url(url)
    is_sqlite = sa_url.get_backend_name() == "sqlite"
    if is_sqlite:
        _prepare_file(sa_url, file_mode)
    try:
        engine = sa.create_engine(
            sa_url,
            connect_args={"timeout": 30} if is_sqlite else {},
            pool_pre_ping=not is_sqlite,  # a worker outlives PostgreSQL restarts and failovers
        )
    except ModuleNotFoundError as e:
        raise StoreError(
            f"{sa_url.render_as_string(hide_password=True)}: the driver is missing ({e.name}); "
            "install it with: pip install 'watcher[postgres]'"
        ) from e
    if is_sqlite:
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        # Commands leave their engine to the garbage collector; its pooled PostgreSQL sessions are
        # closed properly then (a socket dropped unclosed is a ResourceWarning and a server log line).
        weakref.finalize(engine, engine.pool.dispose)
    return engine


def open_db(url: str, *, file_mode: int = 0o600) -> sa.Engine:
    """Open (creating and migrating) the database at an SQLAlchemy URL."""
    engine = connect(url, file_mode=file_mode)
    try:
        migrate(engine)
    except StoreError:
        engine.dispose()  # a PostgreSQL connection must not outlive the refusal
        raise
    except (sa.exc.OperationalError, sa.exc.DatabaseError, sqlite3.DatabaseError) as e:
        engine.dispose()
        reason = getattr(e, "orig", None) or e
        raise StoreError(f"{engine.url.render_as_string(hide_password=True)}: cannot open: {reason}") from e
    return engine
