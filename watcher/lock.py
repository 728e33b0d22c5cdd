"""One daemon per database: an exclusive OS lock on a file beside the SQLite database."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from .errors import StoreError
from .health import sqlite_path


def lock_path(db_url: str) -> Path | None:
    plain = sqlite_path(db_url) if "%" not in db_url else None
    if plain is not None:  # a plain file: no SQLAlchemy import for it (issue 16)
        return Path(f"{plain}.lock")
    import sqlalchemy as sa

    url = sa.make_url(db_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database + ".lock")


class DaemonLock:
    """Held for the daemon's life; a second holder gets a StoreError naming the pid that has it."""

    def __init__(self, db_url: str) -> None:
        self.path = lock_path(db_url)
        self.fd: int | None = None

    def __enter__(self) -> DaemonLock:
        if self.path is None:
            return self  # PostgreSQL: the feed leases keep workers apart
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise StoreError(
                f"another watcher daemon (pid {holder}) is already running on this database ({self.path})"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self.fd = fd
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None
