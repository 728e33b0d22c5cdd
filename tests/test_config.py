"""Config: typed, validated, errors naming the field path, overrides from flags and environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from watcher import config
from watcher.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_shipped_config_loads_with_enough_real_feeds_and_the_seeded_topic() -> None:
    cfg = config.load(ROOT / "config.toml", environ={})
    assert len(cfg.feeds) >= 20
    assert all(f.url.startswith("https://") for f in cfg.feeds)
    hosts = {f.url.split("/")[2] for f in cfg.feeds}
    assert len(hosts) >= 18
    assert any(any("\u0400" <= ch <= "\u04ff" for ch in f.name) for f in cfg.feeds), (
        "Russian outlets"
    )
    topic = cfg.topic(None)
    assert len(topic.seeds) == 2 and all(Path(s).is_file() for s in topic.seeds)
    assert cfg.http.allow_private_addresses is False
    assert cfg.db == str(ROOT / "seen.db"), "relative paths resolve against the config's folder"


def test_overrides_from_set_and_environment(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[schedule]\npoll_interval = "15m"\n', encoding="utf-8")
    cfg = config.load(
        path,
        overrides=[
            "http.allow_private_addresses=true",
            'schedule.poll_interval="1h"',
            "schedule.timezone=Europe/Moscow",
            'http.allow_networks=["127.0.0.1/32"]',
        ],
        environ={"WATCHER_DB": str(tmp_path / "x.db")},
    )
    assert cfg.http.allow_private_addresses is True
    assert cfg.schedule.poll_interval == 3600
    assert cfg.schedule.timezone == "Europe/Moscow"
    assert cfg.http.allow_networks == ("127.0.0.1/32",)
    assert cfg.db == str(tmp_path / "x.db")
    env_cfg = config.load(None, environ={"WATCHER_CONFIG": str(path)})
    assert env_cfg.path == path
    assert (
        config.load(path, db="postgresql+psycopg://u@h/w", environ={}).db_url
        == "postgresql+psycopg://u@h/w"
    )


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[htp]\nx = 1\n", "htp: unknown key (did you mean 'http'?)"),
        ("[http]\nconcurency = 3\n", "http.concurency: unknown key (did you mean 'concurrency'?)"),
        ('[[feeds]]\nurl = "https://a.example/rss"\n[[feeds]]\nurl = "ftp://x"\n', "feeds[1].url"),
        ('[[feeds]]\nurl = "https://a.example/rss"\nintervall = 5\n', "feeds[0].intervall"),
        ('[schedule]\npoll_interval = "soon"\n', "schedule.poll_interval"),
        ('[schedule]\ntimezone = "Mars/Olympus"\n', "schedule.timezone"),
        ('[schedule]\ndigest_at = "25:00"\n', "schedule.digest_at"),
        ('[http]\nconcurrency = "many"\n', "http.concurrency: expected a whole number"),
        ('[digest.email]\npassword = "hunter2"\n', "digest.email.password"),
        ('[digest]\nformats = ["markdwn"]\n', "did you mean 'markdown'"),
        ("this is not toml", "invalid TOML"),
    ],
)
def test_bad_config_names_the_field(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        config.load(path, environ={})
    assert needle in str(err.value)
    assert "hunter2" not in str(err.value)


def test_bad_set_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        config.load(None, overrides=["nonsense"], environ={})
    with pytest.raises(ConfigError, match="unknown key"):
        config.load(None, overrides=["http.nope=1"], environ={})


@pytest.mark.parametrize(
    ("value", "seconds"), [("15m", 900), ("6h", 21600), ("90d", 7776000), (30, 30), ("2.5s", 2.5)]
)
def test_durations(value: object, seconds: float) -> None:
    assert config.parse_duration(value, "x") == seconds
