"""`watcher feeds ...` and `watcher status` through cli.main, with a real server and SQLite file."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.http_helpers import rss
from tests.server import Server
from watcher.cli import main
from watcher.models import Feed
from watcher.opml import OpmlError, parse_opml, render_opml

RSS = {"Content-Type": "application/rss+xml"}


def write_config(tmp: Path, feeds: list[str]) -> Path:
    text = (
        f'[storage]\ndb = "{tmp / "w.db"}"\n\n[http]\nallow_networks = ["127.0.0.1"]\n'
        "min_host_gap = 0.0\nread_timeout = 3\n\n[extract]\nfetch_articles = false\nworkers = 1\n\n"
    )
    text += "".join(f'[[feeds]]\nurl = "{u}"\nname = "Config {i}"\n\n' for i, u in enumerate(feeds))
    path = tmp / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_status_json_before_and_after_a_poll(
    tmp_path: Path, http_server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    url = http_server.route("/f.xml", rss([("a", "A"), ("b", "B")]), headers={**RSS, "ETag": '"e"'})
    gone = http_server.route("/gone.xml", b"", status=410)
    cfg = write_config(tmp_path, [url, gone])
    code, out, _ = run(capsys, "status", "--config", str(cfg), "--json")
    assert code == 0
    before = {f["url"]: f for f in json.loads(out)["feeds"]}
    assert before[url]["status"] == "new" and before[url]["entries"] == 0

    from watcher import config as config_mod
    from watcher.pipeline import run_cycle
    from watcher.store import open_db

    loaded = config_mod.load(cfg)
    run_cycle(loaded, open_db(loaded.db_url), due_only=False)
    code, out, _ = run(capsys, "status", "--config", str(cfg), "--json")
    after = {f["url"]: f for f in json.loads(out)["feeds"]}
    f = after[url]
    keys = {
        "name",
        "url",
        "status",
        "etag",
        "last_modified",
        "failures",
        "next_poll_at",
        "retired",
        "entries",
        "matches",
    }
    assert keys <= set(f)
    assert (f["status"], f["etag"], f["failures"], f["entries"], f["retired"]) == (
        "ok",
        '"e"',
        0,
        2,
        False,
    )
    assert datetime.fromisoformat(f["next_poll_at"]) > datetime.now(UTC)
    g = after[gone]
    assert (
        g["status"] == "retired"
        and g["retired"]
        and g["next_poll_at"] is None
        and g["failures"] == 1
    )

    code, out, _ = run(capsys, "status", "--config", str(cfg))
    assert code == 0 and "2 feeds, 1 with trouble" in out
    lines = {line.split("\t")[0]: line.split("\t") for line in out.splitlines()[:-1]}
    assert (
        lines["Config 0"][1:4] == ["ok", lines["Config 0"][2], "0"] and lines["Config 0"][5] == "2"
    )
    assert lines["Config 1"][1] == "retired" and "410" in lines["Config 1"][7]


def test_status_table_on_a_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from watcher.commands import common

    monkeypatch.setattr(common, "is_tty", lambda: True)
    monkeypatch.setenv("COLUMNS", "200")
    cfg = write_config(tmp_path, ["http://127.0.0.1:9/feed.xml"])
    code, out, _ = run(capsys, "status", "--config", str(cfg))
    assert (
        code == 0 and "failures" in out and "Config 0" in out and "1 feeds, 0 with trouble" in out
    )


def test_add_discovers_the_feed_of_a_page(
    tmp_path: Path, http_server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = http_server.route("/news/rss.xml", rss([("a", "A")], title="Site News"), headers=RSS)
    page = http_server.route(
        "/",
        '<html><head><link rel="alternate" type="application/rss+xml" href="/news/rss.xml">'
        "</head></html>",
    )
    cfg = write_config(tmp_path, [])
    code, out, err = run(capsys, "feeds", "add", page, "--config", str(cfg))
    assert code == 0, err
    assert feed in out and "Site News" in out
    code, out, _ = run(capsys, "feeds", "list", "--config", str(cfg), "--json")
    (row,) = json.loads(out)["feeds"]
    assert (row["url"], row["source"], row["name"]) == (feed, "added", "Site News")
    code, _, err = run(capsys, "feeds", "add", feed, "--config", str(cfg))
    assert code == 1 and "already" in err


def test_add_refuses_pages_without_feeds_and_blocked_addresses(
    tmp_path: Path, http_server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    page = http_server.route("/plain", "<html><body>no feed here</body></html>")
    cfg = write_config(tmp_path, [])
    code, _, err = run(capsys, "feeds", "add", page, "--config", str(cfg))
    assert code == 1 and "not a feed" in err
    blocked = f"http://127.0.0.2:{http_server.port}/plain"
    code, _, err = run(capsys, "feeds", "add", blocked, "--config", str(cfg))
    assert code == 1 and "allow_networks" in err and http_server.hits("/plain") == 1


def test_manage_added_and_config_feeds(
    tmp_path: Path, http_server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    configured = http_server.url("/c.xml")
    cfg = write_config(tmp_path, [configured])
    added = "http://127.0.0.1:9/x.xml"
    assert (
        run(capsys, "feeds", "add", added, "--no-check", "--name", "X", "--config", str(cfg))[0]
        == 0
    )
    assert run(capsys, "feeds", "disable", added, "--config", str(cfg))[0] == 0
    _, out, _ = run(capsys, "feeds", "list", "--config", str(cfg), "--json")
    rows = {r["url"]: r for r in json.loads(out)["feeds"]}
    assert rows[added]["enabled"] is False and rows[configured]["source"] == "config"
    assert run(capsys, "feeds", "enable", added, "--config", str(cfg))[0] == 0
    code, _, err = run(capsys, "feeds", "remove", configured, "--config", str(cfg))
    assert code == 1 and "config.toml" in err
    assert run(capsys, "feeds", "remove", added, "--config", str(cfg))[0] == 0
    _, out, _ = run(capsys, "feeds", "list", "--config", str(cfg), "--json")
    assert [r["url"] for r in json.loads(out)["feeds"]] == [configured]
    code, _, err = run(capsys, "feeds", "enable", "http://127.0.0.1:9/none", "--config", str(cfg))
    assert code == 1 and "not a feed" in err


def test_opml_export_import_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path, ["http://127.0.0.1:9/one.xml"])
    run(
        capsys,
        "feeds",
        "add",
        "http://127.0.0.1:9/two.xml",
        "--no-check",
        "--name",
        "Two & Co",
        "--config",
        str(cfg),
    )
    out_file = tmp_path / "feeds.opml"
    assert run(capsys, "feeds", "export", str(out_file), "--config", str(cfg))[0] == 0
    items = parse_opml(out_file.read_bytes())
    assert [(i.url, i.name) for i in items] == [
        ("http://127.0.0.1:9/one.xml", "Config 0"),
        ("http://127.0.0.1:9/two.xml", "Two & Co"),
    ]
    other = tmp_path / "other"
    other.mkdir()
    cfg2 = write_config(other, [])
    code, out, _ = run(capsys, "feeds", "import", str(out_file), "--config", str(cfg2))
    assert code == 0 and "imported 2" in out
    code, out, _ = run(capsys, "feeds", "import", str(out_file), "--config", str(cfg2))
    assert "imported 0" in out and "2 already known" in out
    code, out, _ = run(capsys, "feeds", "export", "--config", str(cfg2))
    assert code == 0 and out.count("<outline") == 2


def test_opml_nested_categories_and_bad_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = b"""<?xml version="1.0"?><opml version="1.0"><head/><body>
      <outline text="Region"><outline text="A" type="rss" xmlUrl="https://a.example/rss"/>
        <outline text="Dup" xmlUrl="https://a.example/rss"/></outline>
      <outline text="ftp" xmlUrl="ftp://x.example/f"/><outline text="B" xmlUrl="http://b.example/atom"/>
    </body></opml>"""
    items = parse_opml(doc)
    assert [(i.url, i.name, i.category) for i in items] == [
        ("https://a.example/rss", "A", "Region"),
        ("http://b.example/atom", "B", ""),
    ]
    for bad in (b"<html/>", b"not xml", b'<!DOCTYPE x [<!ENTITY a "aaaa">]><opml><body/></opml>'):
        with pytest.raises(OpmlError):
            parse_opml(bad)
    bad_file = tmp_path / "bad.opml"
    bad_file.write_bytes(b"<rss/>")
    cfg = write_config(tmp_path, [])
    code, _, err = run(capsys, "feeds", "import", str(bad_file), "--config", str(cfg))
    assert code == 1 and "OPML" in err


def test_render_opml_uses_current_url() -> None:
    feed = Feed(url="http://old.example/f", current_url="http://new.example/f", name="N")
    data = render_opml([feed], now=datetime(2024, 1, 1, tzinfo=UTC))
    assert [i.url for i in parse_opml(data)] == ["http://new.example/f"]
