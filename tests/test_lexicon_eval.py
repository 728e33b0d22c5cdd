"""CI-gated: the 5-fold cross-validated F1 over both dev files meets the floor in tests/floors.toml."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.shared_data import floors, require_shared
from watcher.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_cross_validated_f1_over_both_dev_files_meets_the_floor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = [require_shared("corpus", "dev.jsonl"), require_shared("corpus", "dev_multilingual.jsonl")]
    floor = floors()["cv5_both"]["f1"]
    args = ["--config", str(ROOT / "config.toml"), "--db", str(tmp_path / "w.db")]
    assert main(["eval", *map(str, files), "--folds", "5", "--json", *args]) == 0
    result = json.loads(capsys.readouterr().out)
    assert len(result["folds"]) == 5
    assert result["f1"] >= floor, result
