"""The demo carries its own topic and seeds (package data) and gives the same result from any folder."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from watcher import cli, config, demo

ROOT = Path(__file__).resolve().parents[1]


def test_packaged_config_and_seeds_are_copies_of_the_shipped_ones() -> None:
    """watcher/demo_data holds copies: run scripts/sync_package_data.py after editing the originals."""
    with demo.data_dir() as data:
        assert (data / "config.toml").read_bytes() == (ROOT / "config.toml").read_bytes(), (
            "watcher/demo_data/config.toml differs from config.toml: run scripts/sync_package_data.py"
        )
        packaged = sorted(p.name for p in (data / "seeds").iterdir())
        shipped = sorted(p.name for p in (ROOT / "seeds").iterdir() if p.is_file())
        assert packaged == shipped and shipped
        for name in shipped:
            assert (data / "seeds" / name).read_bytes() == (ROOT / "seeds" / name).read_bytes()


def test_packaged_topic_equals_the_shipped_topic() -> None:
    shipped = config.load(ROOT / "config.toml")
    with demo.packaged_config() as packaged:
        assert [t.name for t in packaged.topics] == [t.name for t in shipped.topics]
        for mine, theirs in zip(packaged.topics, shipped.topics, strict=True):
            assert mine.groups == theirs.groups and mine.threshold == theirs.threshold
            assert [Path(s).name for s in mine.seeds] == [Path(s).name for s in theirs.seeds]
            assert all(Path(s).is_file() for s in mine.seeds)


def run_demo(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, object]:
    capsys.readouterr()
    assert cli.main(["demo", *argv, "--json"]) == 0
    data: dict[str, object] = json.loads(capsys.readouterr().out)
    return data


def test_demo_from_an_empty_folder_matches_the_demo_from_the_repository(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WATCHER_CONFIG", raising=False)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    away = run_demo(capsys, str(tmp_path / "out1"))
    # ./config.toml is not read: an unrelated config in the current folder changes nothing
    (elsewhere / "config.toml").write_text('[[topics]]\nname = "cats"\n', encoding="utf-8")
    unrelated = run_demo(capsys, str(tmp_path / "out2"))
    monkeypatch.chdir(ROOT)
    home = run_demo(capsys, str(tmp_path / "out3"))
    assert away["new_entries"] == 12 and isinstance(away["matches"], list)
    assert len(away["matches"]) == 7
    for other in (unrelated, home):
        assert other["new_entries"] == away["new_entries"]
        assert sorted(m["title"] for m in other["matches"]) == sorted(  # type: ignore[attr-defined]
            m["title"] for m in away["matches"]
        )
    # an explicit --config tries that file's topics on the demo feeds: no topic, no match, and
    # no seed articles of the shipped topic among the demo pages
    cats = run_demo(capsys, str(tmp_path / "out4"), "--config", str(elsewhere / "config.toml"))
    seeds = len(list((ROOT / "seeds").glob("*.txt")))
    assert cats["new_entries"] == 12 - seeds and cats["matches"] == []


def test_the_quick_start_demo_prints_its_matches_and_where_it_wrote(tmp_path: Path) -> None:
    """The README's first command, as a user runs it: a process, human output, from another folder."""
    done = subprocess.run(
        [sys.executable, "-m", "watcher", "demo", str(tmp_path / "out")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={k: v for k, v in os.environ.items() if k != "WATCHER_CONFIG"},
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "3 feeds polled, 12 new entries, 7 matches, 0 errors" in lines, done.stdout
    scored = [line for line in lines if re.match(r"\d\.\d\d \S", line)]
    assert len(scored) == 7  # each match: its score and title, then why
    assert lines[-2] == f"database: {tmp_path / 'out' / 'seen.db'}"
    digest = Path(lines[-1].removeprefix("digest: "))
    assert (lines[-1].startswith("digest: ") and (tmp_path / digest).is_file()) or digest.is_file()
