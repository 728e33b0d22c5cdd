"""The one place that finds ``../shared`` (evaluation data beside the repository, not in it).

A test that needs it calls ``require_shared`` (or takes the ``shared_dir`` fixture): absent data
skips the test with the missing path, except under ``CI``, where it fails (CI always has it).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
FLOORS = Path(__file__).with_name("floors.toml")


def require_shared(*parts: str) -> Path:
    """``../shared/<parts>``; skips when absent, fails when the ``CI`` env var is set."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        why = f"{path} is absent (evaluation data lives beside the repository, not in it)"
        if os.environ.get("CI"):
            pytest.fail(f"{why}; CI must provide ../shared", pytrace=False)
        pytest.skip(why)
    return path


def floors() -> dict[str, dict[str, float]]:
    """The quality floors of ``tests/floors.toml`` (``.ci/run`` reads the same file)."""
    with FLOORS.open("rb") as f:
        return tomllib.load(f)
