"""Run the review site with uvicorn: in the foreground (``watcher serve``) or beside the daemon in a
thread (``watcher run --serve``).  Off loopback it refuses to start without a token."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
import uvicorn

from ..config import Config
from ..errors import ConfigError
from .app import build_app
from .security import is_loopback

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Listen:
    host: str
    port: int
    token: str | None


def listen(
    cfg: Config, host: str | None, port: int | None, token: str | None, environ: Mapping[str, str]
) -> Listen:
    """Where to listen and with which token (flag, else ``[serve] token_env``); refuse a bare
    address other than loopback."""
    host = host or cfg.serve.host
    port = cfg.serve.port if port is None else port
    token = token or cfg.serve.token(environ)
    if token is not None and len(token) < 16:
        raise ConfigError("serve: the token is too short (at least 16 characters)")
    if not is_loopback(host) and token is None:
        raise ConfigError(
            f"serve: refusing to listen on {host} without a token: pass --token or name an "
            "environment variable in [serve] token_env (127.0.0.1 needs none)"
        )
    return Listen(host, port, token)


def make_server(cfg: Config, engine: sa.Engine, where: Listen) -> uvicorn.Server:
    app = build_app(cfg, engine, token=where.token)
    config = uvicorn.Config(
        app, host=where.host, port=where.port, log_level="warning", access_log=False, lifespan="off"
    )
    return uvicorn.Server(config)


def serve(cfg: Config, engine: sa.Engine, where: Listen) -> None:
    """Serve in the foreground until interrupted."""
    server = make_server(cfg, engine, where)
    log.warning("serving the review page on http://%s:%d/", where.host, where.port)
    server.run()


def serve_in_thread(cfg: Config, engine: sa.Engine, where: Listen) -> threading.Thread:
    """Serve from a daemon thread (beside ``watcher run``); it ends with the process."""
    server = make_server(cfg, engine, where)
    thread = threading.Thread(target=server.run, name="watcher-serve", daemon=True)
    thread.start()
    log.warning("serving the review page on http://%s:%d/", where.host, where.port)
    return thread
