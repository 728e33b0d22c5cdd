"""Common options on both sides of the subcommand: `watcher --config X fetch` = `watcher fetch --config X`."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from watcher import cli
from watcher.commands import common


def write_config(tmp: Path, name: str, feed: str) -> Path:
    path = tmp / f"{name}.toml"
    path.write_text(
        f'[storage]\ndb = "{tmp / (name + ".db")}"\n\n[[feeds]]\nurl = "{feed}"\nname = "{name} feed"\n',
        encoding="utf-8",
    )
    return path


def feed_names(capsys: pytest.CaptureFixture[str], *argv: str) -> list[str]:
    capsys.readouterr()
    assert cli.main(list(argv)) == 0
    return [f["name"] for f in json.loads(capsys.readouterr().out)["feeds"]]


def test_config_before_and_after_the_subcommand(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = write_config(tmp_path, "alpha", "http://127.0.0.1:9/a.xml")
    b = write_config(tmp_path, "beta", "http://127.0.0.1:9/b.xml")
    assert feed_names(capsys, "--config", str(a), "status", "--json") == ["alpha feed"]
    assert feed_names(capsys, "status", "--json", "--config", str(b)) == ["beta feed"]
    # Both given: the one nearer the command wins, as with git -c / docker --config.
    assert feed_names(capsys, "--config", str(a), "status", "--json", "--config", str(b)) == [
        "beta feed"
    ]


def test_db_and_set_before_the_subcommand(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = write_config(tmp_path, "alpha", "http://127.0.0.1:9/a.xml")
    other = tmp_path / "other.db"
    capsys.readouterr()
    assert cli.main(["--db", str(other), "--config", str(a), "status", "--json"]) == 0
    assert other.is_file() and not (tmp_path / "alpha.db").exists()
    # --set on both sides adds up; a bad one before the subcommand is still reported.
    names = feed_names(
        capsys,
        "--set",
        'feeds=[{url="http://127.0.0.1:9/x.xml", name="set before"}]',
        "--config",
        str(a),
        "status",
        "--json",
    )
    assert names == ["set before"]
    assert cli.main(["--set", "nonsense", "--config", str(a), "status"]) == 1
    assert "--set 'nonsense'" in capsys.readouterr().err
    # an unknown subcommand is still a usage error, not an attempt to read a config
    assert cli.main(["--config", str(a), "no-such-command"]) == 2


def test_verbosity_on_both_sides() -> None:
    parser = cli.build_parser()
    for argv, verbose, quiet in (
        (["-v", "status"], 1, False),
        (["status", "-v"], 1, False),
        (["-v", "status", "-v"], 2, False),
        (["status", "-q"], 0, True),
        (["-q", "status"], 0, True),
        (["status"], 0, False),
    ):
        args = parser.parse_args(argv)
        common.merge_global(args)
        assert (args.verbose, args.quiet) == (verbose, quiet), argv


def test_verbose_after_the_subcommand_sets_the_log_level(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])
    monkeypatch.setattr(root, "level", logging.WARNING)
    a = write_config(tmp_path, "alpha", "http://127.0.0.1:9/a.xml")
    assert cli.main(["status", "--json", "--config", str(a), "-vv"]) == 0
    assert root.level == logging.DEBUG


@pytest.mark.parametrize("ours", [True, False], ids=["watcher-logging", "plain-logging"])
def test_wordfreq_notices_about_unsupported_languages_stay_out_of_the_log(ours: bool) -> None:
    """A Thai or Burmese page is scored without a warning line (plain logging shows wordfreq's)."""
    import subprocess
    import sys

    setup = "logfmt.setup(logging.INFO)" if ours else "logging.basicConfig(level=logging.INFO)"
    code = (
        f"import logging, sys\nfrom watcher import logfmt\n{setup}\n"
        "from watcher.match.text import wordfreq_frequency as f\n"  # as the scorer asks
        "f('\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35', 'th')\n"
        "f('\u1019\u103c\u1014\u103a\u1019\u102c', 'my')\n"
        # the scorer asks wordfreq nothing for these (issue 12.7); asked directly, wordfreq warns
        "print('--- wordfreq itself', file=sys.stderr)\n"
        "import wordfreq\n"
        "wordfreq.tokenize('\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35', 'th')\n"
    )
    err = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stderr
    scorer, _, direct = err.partition("--- wordfreq itself")
    assert "wordfreq" not in scorer, err
    assert ("wordfreq" in direct) is not ours, err
