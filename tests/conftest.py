"""Shared fixtures: a real HTTP server on 127.0.0.1, the ../shared folder when present."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server import Server
from tests.shared_data import require_shared


@pytest.fixture
def http_server() -> Iterator[Server]:
    server = Server().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def shared_dir() -> Path:
    return require_shared()


# PostgreSQL (issue 13): one throwaway server a session; `db_url` runs a test on SQLite and PostgreSQL.
from tests.pg import db_url, pg_server, pg_url  # noqa: E402, F401
