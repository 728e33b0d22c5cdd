"""``watcher db version|migrate|copy`` (issue 13).  Libraries are imported when a command runs."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import StoreError
from ..textsafe import terminal_safe
from . import common

if TYPE_CHECKING:
    import sqlalchemy as sa


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("db", help="the database: schema version, migrations, copying")
    dsub = p.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    v = dsub.add_parser("version", help="the schema version of the database", description=run_version.__doc__)
    common.add_common(v)
    v.add_argument("--json", action="store_true", help="print JSON")
    v.set_defaults(func=run_version)
    m = dsub.add_parser(
        "migrate", help="bring the database to this watcher's schema", description=run_migrate.__doc__
    )
    common.add_common(m)
    m.set_defaults(func=run_migrate)
    c = dsub.add_parser(
        "copy", help="copy a database into a new one (SQLite -> PostgreSQL)", description=run_copy.__doc__
    )
    c.add_argument("source", metavar="FROM", help="SQLite file or database URL to read")
    c.add_argument("target", metavar="TO", help="database URL (or SQLite file) to fill; must be empty")
    c.set_defaults(func=run_copy)


def _url(value: str) -> str:
    """A database URL; a bare path is an SQLite file."""
    return value if "://" in value else f"sqlite:///{Path(value).expanduser().resolve()}"


def _shown(engine: sa.Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def run_version(args: argparse.Namespace) -> int:
    """Print the database's schema version and this watcher's; exit 3 when they differ."""
    import sqlalchemy as sa

    from .. import store

    cfg = common.load_config(args)
    engine = store.connect(cfg.db_url, file_mode=cfg.db_file_mode)
    try:
        with engine.connect() as conn:
            version = store.schema_version(conn)
    except sa.exc.SQLAlchemyError as e:
        raise StoreError(f"{_shown(engine)}: cannot open: {getattr(e, 'orig', None) or e}") from e
    finally:
        engine.dispose()
    if args.json:
        print(
            json.dumps({"database": cfg.db_shown, "schema": version, "watcher_schema": store.SCHEMA_VERSION})
        )
    else:
        state = "up to date" if version == store.SCHEMA_VERSION else (
            "newer than this watcher: upgrade watcher" if version > store.SCHEMA_VERSION
            else "older: run `watcher db migrate`"
        )  # fmt: skip
        print(f"{cfg.db_shown}: schema {version}, this watcher {store.SCHEMA_VERSION} ({state})")
    return 0 if version == store.SCHEMA_VERSION else 3


def run_migrate(args: argparse.Namespace) -> int:
    """Migrate the database to this watcher's schema (under a lock: safe beside running workers)."""
    import sqlalchemy as sa

    from .. import store

    cfg = common.load_config(args)
    engine = store.connect(cfg.db_url, file_mode=cfg.db_file_mode)
    try:
        with engine.connect() as conn:
            before = store.schema_version(conn)
        after = store.migrate(engine)
    except sa.exc.SQLAlchemyError as e:
        raise StoreError(f"{_shown(engine)}: cannot migrate: {getattr(e, 'orig', None) or e}") from e
    finally:
        engine.dispose()
    print(
        f"{cfg.db_shown}: schema {before} -> {after}"
        if before != after
        else f"{cfg.db_shown}: schema {after}, nothing to do"
    )
    return 0


def run_copy(args: argparse.Namespace) -> int:
    """Copy every feed, entry, article, match, label and digest of FROM into the empty TO.

    Both are migrated to this watcher's schema first.  Stop the daemon on FROM before copying."""
    import sqlalchemy as sa

    from .. import store
    from ..store import copy as store_copy

    source = store.open_db(_url(args.source))
    try:
        target = store.open_db(_url(args.target))
        try:
            result = store_copy.copy(source, target)
        finally:
            target.dispose()
    finally:
        source.dispose()
    for name, n in result.rows.items():
        print(f"{name}\t{n}")
    note = f"; {result.nul_stripped} values lost a NUL character" if result.nul_stripped else ""
    shown = sa.make_url(_url(args.target)).render_as_string(hide_password=True)
    print(f"copied {sum(result.rows.values())} rows into {terminal_safe(shown)}{note}")
    return 0
