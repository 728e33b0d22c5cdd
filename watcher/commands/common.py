"""What every command shares: the config and store options, and how to open them."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
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


@contextlib.contextmanager
def batch_scheduling() -> Iterator[None]:
    """Run the block as batch work (Linux ``SCHED_BATCH``), with the threads and extraction
    workers it starts (they inherit the policy); the calling thread's policy is restored after.

    A one-shot fetch is throughput work: nobody waits on one of its wake-ups.  Its main process
    wakes thousands of times a cycle (a page read, a worker's answer, a database write), and on a
    machine with as many cores as extraction workers each wake-up of a normal task preempts a
    worker in mid-page; a batch task waits for the scheduler's tick instead.  Its share of the
    CPU and its priority (nice) are unchanged.  Elsewhere (another OS, a refused call) nothing
    changes (issue 16).
    """
    batch = getattr(os, "SCHED_BATCH", None)
    before = os.sched_getscheduler(0) if batch is not None else None
    changed = False
    if batch is not None and before != batch:
        with contextlib.suppress(OSError):
            os.sched_setscheduler(0, batch, os.sched_param(0))
            changed = True
    try:
        yield
    finally:
        if changed and before is not None:
            with contextlib.suppress(OSError):
                os.sched_setscheduler(0, before, os.sched_param(0))
