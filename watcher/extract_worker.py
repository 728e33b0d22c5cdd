"""The worker side of the extraction pool: what runs in each spawned process, and the wire format.

A worker warms up once, then answers one page at a time over its pipe: the parent sends a small
pickled header ``(url, content_type, dated)`` and the page's raw bytes after it (no pickle copy of
a large page), and gets back the ``Article``'s fields as a plain tuple (``pack``).  Kept apart from
``extract_pool`` (the parent's slots and threads), so a worker imports only what it runs.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
from dataclasses import fields
from multiprocessing.connection import Connection
from typing import Protocol

from .config import ExtractConfig
from .fallback import failed_article
from .models import Article

SOCKET_BUFFER = 4 * 1024 * 1024  # bytes: see widen
WARMUP = b"<html><head><title>w</title></head><body><article><p>warm up</p></article></body></html>"
Page = tuple[bytes, str, str | None]  # html, url, content type
# What a worker sends back: an Article's fields in declaration order (see pack).
Packed = tuple[object, ...]
FIELDS = len(fields(Article))


class Extractor(Protocol):
    """What a worker runs on each page (``extract.extract_article``; tests pass a faulty one)."""

    def __call__(
        self,
        html: bytes,
        url: str,
        *,
        cfg: ExtractConfig,
        content_type: str | None = None,
        dated: bool = False,
    ) -> Article: ...


def default_extractor() -> Extractor:
    # Imported when a pool is made, not with this module: the main process never loads trafilatura
    # (its workers do), and a cycle with nothing new makes no pool worker (issue 16).
    from .extract import extract_article

    return extract_article


def pack(article: Article) -> Packed:
    """An Article as a plain tuple for the pipe: pickled without the class's per-field state."""
    a = article
    return (
        a.url, a.title, a.text, a.source, a.extractor_version, a.sitename, a.author,
        a.language, a.published, a.status, a.error,
    )  # fmt: skip


def unpack(values: Packed) -> Article:
    return Article(*values)  # type: ignore[arg-type]


def worker_main(conn: Connection, cfg: ExtractConfig, extractor: Extractor | None) -> None:
    """Worker loop: warm up once, then answer one page at a time until told to stop or orphaned."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    extractor = extractor or default_extractor()
    logging.getLogger().addHandler(logging.NullHandler())  # outcomes travel back as Article.status
    with contextlib.suppress(Exception):  # a broken warm-up shows on the first real page
        extractor(WARMUP, "http://localhost/", cfg=cfg)
    conn.send(("ready", os.getpid()))
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):  # the parent is gone
            return
        if task is None:
            return
        url, content_type, dated = task
        try:
            html = conn.recv_bytes()  # the page follows its header unpickled (see _Slot._send)
        except (EOFError, OSError):
            return
        try:
            result = extractor(html, url, cfg=cfg, content_type=content_type, dated=dated)
        except Exception as e:
            result = failed_article(url, "failed", f"{type(e).__name__}: {e}"[:300])
        try:
            conn.send(pack(result))
        except OSError:  # the parent is gone
            return


def widen(conn: Connection) -> None:
    """Socket buffers that hold a whole page: the page goes over in one write, instead of 64 KiB
    at a time with the worker and a parent thread taking turns to be scheduled (issue 16)."""
    with (
        contextlib.suppress(OSError),
        socket.fromfd(conn.fileno(), socket.AF_UNIX, socket.SOCK_STREAM) as sock,
    ):  # a duplicate of the descriptor: the options apply to the shared socket
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_BUFFER)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_BUFFER)
