"""``watcher run``: the long-running daemon."""

from __future__ import annotations

import argparse
import logging

from . import common


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("run", help="run the daemon: poll on schedule, send the digest at its hour")
    common.add_common(p)
    p.add_argument("--log-format", choices=("text", "json"), default="text", help="log line format")
    p.add_argument("--metrics-port", type=int, help="serve Prometheus metrics on 127.0.0.1:PORT")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .. import daemon, logfmt  # here: --help imports no library (issue 16)

    level = logging.ERROR if args.quiet else logging.DEBUG if args.verbose > 1 else logging.INFO
    logfmt.setup(level, args.log_format)
    return daemon.run(lambda: common.load_config(args), metrics_port=args.metrics_port)
