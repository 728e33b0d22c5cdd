"""What every command shares: the config and store options, and how to open them."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the parser is built from light modules: --help imports no library (issue 16)
    import sqlalchemy as sa

    from ..config import Config
    from ..cycle_api import CycleStore


def add_common(parser: argparse.ArgumentParser) -> None:
    """--config, --db, --set, -v and -q, accepted by every command (and before it: add_global)."""
    parser.add_argument(
        "--config", type=Path, help="config file (default: $WATCHER_CONFIG or ./config.toml)"
    )
    parser.add_argument(
        "--db", help="database file or SQLAlchemy URL (default: $WATCHER_DB or storage.db)"
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one config key for this run, TOML value syntax (repeatable)",
    )
    # Own names: a subcommand's namespace would otherwise overwrite the values given before it.
    parser.add_argument(
        "-v", "--verbose", dest="sub_verbose", action="count", default=0, help="more log output"
    )
    parser.add_argument(
        "-q", "--quiet", dest="sub_quiet", action="store_true", help="only errors in the log"
    )


# --- common options before the subcommand (issue 15): `watcher --config X fetch` -----------------


def add_global(parser: argparse.ArgumentParser) -> None:
    """--config, --db and --set before the subcommand, as git and docker users type them."""
    parser.add_argument("--config", dest="global_config", type=Path, help="config file")
    parser.add_argument("--db", dest="global_db", help="database file or SQLAlchemy URL")
    parser.add_argument(
        "--set",
        dest="global_overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one config key for this run (repeatable)",
    )


def merge_global(args: argparse.Namespace) -> None:
    """Fold the options given before the subcommand into those after it (after wins, --set adds)."""
    for name in ("config", "db"):
        if getattr(args, name, None) is None:
            setattr(args, name, getattr(args, f"global_{name}", None))
    args.overrides = [*getattr(args, "global_overrides", []), *getattr(args, "overrides", [])]
    args.verbose = getattr(args, "verbose", 0) + getattr(args, "sub_verbose", 0)
    args.quiet = bool(getattr(args, "quiet", False) or getattr(args, "sub_quiet", False))


def load_config(args: argparse.Namespace) -> Config:
    from .. import config as config_mod

    return config_mod.load(args.config, overrides=args.overrides, db=args.db)


def open_store(cfg: Config) -> sa.Engine:
    from .. import store

    return store.open_db(cfg.db_url, file_mode=cfg.db_file_mode)


def open_cycle_store(cfg: Config) -> CycleStore:
    """The store a one-shot cycle runs on: on a plain SQLite file, the standard library's sqlite3
    until the cycle needs more (``cycle_lite``: an unchanged re-poll never imports SQLAlchemy,
    issue 16); on anything else, the engine, opened (created, migrated) now."""
    from ..health import sqlite_path

    if sqlite_path(cfg.db_url) is not None:
        from ..cycle_lite import LiteStore

        return LiteStore(cfg)
    from ..cycle_store import EngineStore

    return EngineStore(open_store(cfg))


def is_tty() -> bool:
    return sys.stdout.isatty()
