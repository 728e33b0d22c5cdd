"""``watcher serve``: the local review page (matches, near misses, feeds, try the topic, digests)."""

from __future__ import annotations

import argparse
import os

from . import common


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "serve",
        help="a local page to read, review and teach the filter",
        description=run.__doc__,
    )
    common.add_common(p)
    add_listen_options(p, prefix="")
    p.set_defaults(func=run)


def add_listen_options(p: argparse.ArgumentParser, prefix: str) -> None:
    """--host, --port, --token (``--serve-host`` ... for ``watcher run``)."""
    p.add_argument(f"--{prefix}host", help="address to listen on (default: [serve] host, 127.0.0.1)")
    p.add_argument(f"--{prefix}port", type=int, help="port (default: [serve] port, 8765)")
    p.add_argument(
        f"--{prefix}token",
        help="access token, required on any address but loopback (or [serve] token_env)",
    )


def listen_from(args: argparse.Namespace, prefix: str = "") -> tuple[str | None, int | None, str | None]:
    key = prefix.replace("-", "_")
    return getattr(args, f"{key}host"), getattr(args, f"{key}port"), getattr(args, f"{key}token")


def run(args: argparse.Namespace) -> int:
    """Serve the review page: read matches and near misses, label them, manage feeds, try the topic.

    It listens on 127.0.0.1 unless told otherwise; any other address needs a token, which every
    request must then carry (open the page once as /?token=TOKEN).
    """
    from ..web import server  # starlette and uvicorn come with the "serve" extra

    cfg = common.load_config(args)
    where = server.listen(cfg, *listen_from(args), dict(os.environ))
    engine = common.open_store(cfg)
    server.serve(cfg, engine, where)
    return 0
