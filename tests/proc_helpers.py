"""Helpers for tests that run real ``watcher`` processes: a clean environment, polling, SQLite reads."""

from __future__ import annotations

import os

from tests.test_daemon import query, wait_for

__all__ = ["clean_env", "query", "wait_for"]


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without any WATCHER_* variable (config, database, test stages), plus extra."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHER_")}
    return {**env, "PYTHONUNBUFFERED": "1", **extra}
