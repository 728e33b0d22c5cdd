"""Shared fixtures: a real HTTP server on 127.0.0.1, the ../shared folder when present."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server import Server

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


@pytest.fixture
def http_server() -> Iterator[Server]:
    server = Server().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        if os.environ.get("CI"):  # CI always has ../shared: a missing copy is a failure there
            pytest.fail("../shared is absent but CI is set")
        pytest.skip("../shared is absent (evaluation data lives beside the repository, not in it)")
    return SHARED
