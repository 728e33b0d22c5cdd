"""What every command shares: the config and store options, and how to open them."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the parser is built from light modules: --help imports no library (issue 16)
    import sqlalchemy as sa

    from ..config import Config


def add_common(parser: argparse.ArgumentParser) -> None:
    """--config, --db and --set, accepted by every command."""
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


def load_config(args: argparse.Namespace) -> Config:
    from .. import config as config_mod

    return config_mod.load(args.config, overrides=args.overrides, db=args.db)


def open_store(cfg: Config) -> sa.Engine:
    from .. import store

    return store.open_db(cfg.db_url, file_mode=cfg.db_file_mode)


def is_tty() -> bool:
    return sys.stdout.isatty()
