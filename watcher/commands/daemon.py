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
    # issue 14: the review page beside the daemon
    p.add_argument("--serve", action="store_true", help="also serve the review page (watcher serve)")
    from .serve import add_listen_options

    add_listen_options(p, prefix="serve-")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .. import daemon, logfmt  # here: --help imports no library (issue 16)

    stop_requested = daemon.stop_on_sigterm()  # first: a SIGTERM while starting stops it cleanly
    level = logging.ERROR if args.quiet else logging.DEBUG if args.verbose > 1 else logging.INFO
    logfmt.setup(level, args.log_format)
    if args.serve:
        _serve(args)
    return daemon.run(
        lambda: common.load_config(args), metrics_port=args.metrics_port, stop_requested=stop_requested
    )


def _serve(args: argparse.Namespace) -> None:
    """Start the review page in a thread (it ends with the daemon)."""
    import os

    from ..web import server
    from .serve import listen_from

    cfg = common.load_config(args)
    where = server.listen(cfg, *listen_from(args, "serve-"), dict(os.environ))
    server.serve_in_thread(cfg, common.open_store(cfg), where)
