"""The ../shared finder: skips outside CI, fails under CI; the relevance floor is defined once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests import shared_data


def test_missing_shared_data_skips_locally_and_fails_under_ci(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shared_data, "SHARED", tmp_path / "no-shared")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no-shared/corpus is absent"):
        shared_data.require_shared("corpus")
    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception, match=r"CI must provide \.\./shared"):
        shared_data.require_shared("corpus")
    (tmp_path / "no-shared" / "corpus").mkdir(parents=True)
    assert shared_data.require_shared("corpus") == tmp_path / "no-shared" / "corpus"


def test_no_test_finds_shared_on_its_own() -> None:
    here = Path(__file__).parent
    offenders = [
        p.name
        for p in here.glob("*.py")
        if p.name != "shared_data.py" and re.search(r'/ *["\']shared["\']', p.read_text("utf-8"))
    ]
    assert offenders == []


def test_ci_reads_the_relevance_floor_from_the_one_file() -> None:
    script = (shared_data.ROOT / ".ci" / "run").read_text("utf-8")
    assert "tests/floors.toml" in script
    floor = shared_data.floors()["dev"]["f1"]
    assert 0 < floor < 1
    # no second spelling of the number in the script
    assert not re.search(r"f1\"?\]? *>= *0\.\d", script)
