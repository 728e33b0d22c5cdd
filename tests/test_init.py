"""`watcher init`: a starter config and seeds/ folder that load, never overwriting a config (issue 15)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.server import Server
from watcher import cli, config

ROOT = Path(__file__).resolve().parents[1]

ARTICLE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Kazan bakery hires Afghan apprentices | Volga Post</title></head><body>
<nav><a href="/">Home</a> <a href="/news">News</a></nav>
<article><h1>Kazan bakery hires Afghan apprentices</h1>
<p>A family bakery in Kazan has taken on six apprentices from Afghanistan who arrived in Russia on
student visas last spring, the owner said on Tuesday.</p>
<p>The apprentices learn to bake chak-chak and echpochmak and attend Russian lessons in the evening.
Local officials said similar programmes could help migrants find work in the region.</p>
<p>The owner said the bakery would take on four more apprentices next year if the permits arrive in
time, and that customers had welcomed the newcomers.</p></article>
<footer>© Volga Post</footer></body></html>"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_init_writes_the_shipped_config_and_seeds_and_refuses_to_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "new" / "project"
    code, out, _ = run(capsys, "init", str(project))
    assert code == 0 and f"watcher --config {project / 'config.toml'} fetch" in out
    written = config.load(project / "config.toml")
    shipped = config.load(ROOT / "config.toml")
    assert [f.url for f in written.feeds] == [f.url for f in shipped.feeds]
    assert [t.name for t in written.topics] == [t.name for t in shipped.topics]
    assert written.db == str(project / "seen.db")
    for seed in written.topics[0].seeds:
        assert Path(seed).parent == project / "seeds"
        assert Path(seed).read_bytes() == (ROOT / "seeds" / Path(seed).name).read_bytes()
    text = (project / "config.toml").read_text(encoding="utf-8")
    assert text.count("\n#") > 20  # commented, as shipped
    (project / "config.toml").write_text("# mine\n", encoding="utf-8")
    code, _, err = run(capsys, "init", str(project))
    assert code == 1 and "already exists" in err
    assert (project / "config.toml").read_text(encoding="utf-8") == "# mine\n"


def test_init_with_a_topic_from_a_file_and_a_url(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], http_server: Server
) -> None:
    seed_file = tmp_path / "wire.txt"
    seed_file.write_text(
        "Russia extends work permits for Afghan migrants\n\nMoscow extended work permits for "
        "Afghan migrant workers by a year, the interior ministry said, citing labour shortages "
        "on building sites. Migrants must renew the permit in person.\n",
        encoding="utf-8",
    )
    url = http_server.route("/bakery.html", ARTICLE)
    project = tmp_path / "p"
    code, out, err = run(
        capsys,
        "init",
        str(project),
        "--topic",
        "afghans-in-kazan",
        "--seed",
        str(seed_file),
        "--seed",
        url,
        "--set",
        "http.allow_private_addresses=true",
    )
    assert code == 0, err
    cfg = config.load(project / "config.toml")
    [topic] = cfg.topics
    assert topic.name == "afghans-in-kazan"
    names = sorted(Path(s).name for s in topic.seeds)
    assert names == ["kazan-bakery-hires-afghan-apprentices.txt", "wire.txt"]
    fetched = (project / "seeds" / "kazan-bakery-hires-afghan-apprentices.txt").read_text("utf-8")
    assert fetched.startswith("Kazan bakery hires Afghan apprentices\n")
    assert "chak-chak" in fetched and "Home" not in fetched and "© Volga Post" not in fetched
    terms = [t for g in topic.groups for t in g.terms]
    assert any(t.startswith("afghan") for t in terms), terms  # the place the seeds share
    assert "2 seed(s)" in out


def test_init_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "init", str(tmp_path / "a"), "--topic", "x")
    assert code == 1 and "--topic NAME and at least one --seed go together" in err
    code, _, err = run(capsys, "init", str(tmp_path / "b"), "--topic", "x", "--seed", "nope.txt")
    assert code == 1 and "--seed[0]: no such file: nope.txt" in err
    assert not (tmp_path / "b" / "config.toml").exists()
    # a URL that is not allowed is refused with one line, nothing written
    code, _, err = run(
        capsys, "init", str(tmp_path / "c"), "--topic", "x", "--seed", "http://127.0.0.1:9/a"
    )
    assert code == 1 and err.count("\n") == 1 and "loopback" in err
    assert not (tmp_path / "c" / "config.toml").exists() and not (tmp_path / "c" / "seeds").exists()
