"""CI-gated: the 5-fold cross-validated F1 over both dev files meets the floor in .ci/floors.json."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from watcher.cli import main

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"


def test_cross_validated_f1_over_both_dev_files_meets_the_floor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = [CORPUS / "dev.jsonl", CORPUS / "dev_multilingual.jsonl"]
    if not all(f.is_file() for f in files):
        if os.environ.get("CI"):
            pytest.fail(f"{CORPUS} must hold dev.jsonl and dev_multilingual.jsonl in CI")
        pytest.skip(f"{CORPUS} is absent (the labelled corpus lives beside the repository)")
    floor = json.loads((ROOT / ".ci" / "floors.json").read_text(encoding="utf-8"))["cv5_both_f1"]
    args = ["--config", str(ROOT / "config.toml"), "--db", str(tmp_path / "w.db")]
    assert main(["eval", *map(str, files), "--folds", "5", "--json", *args]) == 0
    result = json.loads(capsys.readouterr().out)
    assert len(result["folds"]) == 5
    assert result["f1"] >= floor, result
