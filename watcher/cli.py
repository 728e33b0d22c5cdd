"""The ``watcher`` command: a thin layer over the library.  ``main(argv)`` returns the exit code.

Exit codes: 0 the command ran (per-feed errors are reported, not fatal), 1 configuration or store
errors, 2 usage errors.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Callable, Sequence

from .commands import common
from .errors import WatcherError
from .textsafe import terminal_safe

# Each module registers its subcommands; a command is `func(args) -> int`.
COMMAND_MODULES = ("fetch", "topic", "digest", "feeds", "daemon", "serve", "alerts", "init", "db")

Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="watcher",
        description="Watch news feeds for new coverage of a topic.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    parser.add_argument("-q", "--quiet", action="store_true", help="only errors in the log")
    common.add_global(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f".commands.{name}", __package__)
        except ModuleNotFoundError as e:
            if e.name != f"{__package__}.commands.{name}":
                raise
            continue
        module.register(sub)
    return parser


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = (
        logging.ERROR
        if quiet
        else logging.DEBUG
        if verbose > 1
        else logging.INFO
        if verbose
        else logging.WARNING
    )
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse: 2 on usage errors, 0 on --help
        return int(e.code or 0)
    common.merge_global(args)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    if not logging.getLogger().handlers:
        _setup_logging(args.verbose, args.quiet)
    func: Handler = args.func
    try:
        return func(args)
    except WatcherError as e:
        # Errors quote URLs and titles from the network: no escape sequences reach the terminal.
        print(f"watcher: error: {terminal_safe(str(e))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("watcher: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `watcher status | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
