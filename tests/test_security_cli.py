"""Terminal output (issue 8): what the commands print from feeds and pages has no escape sequences.

Each command runs through ``cli.main`` against a real local server and a real SQLite file; the
hostile strings carry ESC, BEL, C1 controls and bidi overrides, and the captured output must hold
none of them while still showing the (defused) text.  ``--json`` output escapes C0 controls.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.security_helpers import HTML_TYPE, RSS_TYPE
from tests.server import Server
from watcher import cli
from watcher.store import open_db, schema

UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
C0 = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
EVIL = "Evil \x1b]0;pwned\x07 \x1b[2J\x1b[31mred \x9b31m \u202eTXT.exe"


def hostile_rss(title: str, item_titles: list[str]) -> bytes:
    items = "".join(
        f"<item><title>{t}</title><link>http://news.example/{i}</link><guid>g{i}</guid>"
        f"<description>Afghan migrants in Russia {t}</description></item>"
        for i, t in enumerate(item_titles)
    )
    doc = f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title>'
    return (doc + f"{items}</channel></rss>").encode()


def write_config(tmp: Path, feeds: list[str]) -> Path:
    feed_tables = "".join(f'[[feeds]]\nurl = "{u}"\n' for u in feeds)
    text = (
        f'[storage]\ndb = "{tmp / "seen.db"}"\n'
        '[http]\nallow_networks = ["127.0.0.1"]\nmin_host_gap = 0.0\nread_timeout = 3\n'
        "[extract]\nfetch_articles = false\nworkers = 1\n"
        f'[digest]\ndir = "{tmp / "digests"}"\n'
        f"{feed_tables}"
        '[[topics]]\nname = "Russia–Afghan migration"\n'
        '[[topics.groups]]\nname = "migration"\nterms = ["migrant", "migrants"]\n'
        '[[topics.groups]]\nname = "place"\nterms = ["Russia", "Afghan"]\n'
    )
    path = tmp / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_feeds_add_prints_a_hostile_title_defused(
    http_server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = http_server.route("/rss", hostile_rss(EVIL, ["one"]), headers=RSS_TYPE)
    conf = str(write_config(tmp_path, []))
    code, out, err = run(capsys, "feeds", "add", url, "--config", conf)
    assert code == 0 and "added" in out and "pwned" in out and "TXT.exe" in out
    assert not UNSAFE.search(out + err)
    code, out, err = run(capsys, "feeds", "list", "--config", conf)
    assert code == 0 and "pwned" in out and not UNSAFE.search(out + err)
    code, out, _ = run(capsys, "feeds", "list", "--json", "--config", conf)
    assert code == 0 and "pwned" in out and not C0.search(out)


def test_error_lines_quoting_a_page_are_defused(
    http_server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The page advertises feeds whose addresses carry escape sequences; none can be read, and the
    # error naming them goes to stderr through cli.main.
    page = (
        '<html><head><link rel="alternate" type="application/rss+xml" href="/a&#27;[2J&#7;">'
        '<link rel="alternate" type="application/atom+xml" href="/b&#x9b;31m&#x202e;"></head>'
        "<body>hi</body></html>"
    )
    url = http_server.route("/page", page, headers=HTML_TYPE)
    code, out, err = run(capsys, "feeds", "add", url, "--config", str(write_config(tmp_path, [])))
    assert code == 1 and err.startswith("watcher: error:") and "/a" in err
    assert not UNSAFE.search(out + err)


def test_fetch_status_and_feeds_list_defuse_stored_strings(
    http_server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    titles = [f"Afghan migrants in Russia {EVIL}", "Afghan migrants \x1b[8mhidden\x1b[0m Russia"]
    url = http_server.route("/rss", hostile_rss(EVIL, titles), headers=RSS_TYPE)
    conf = str(write_config(tmp_path, [url]))
    code, out, err = run(capsys, "fetch", "--config", conf)
    assert code == 0 and "hidden" in out and "pwned" in out
    assert not UNSAFE.search(out + err)
    code, out, _ = run(capsys, "fetch", "--json", "--config", conf)
    assert code == 0 and not C0.search(out)
    engine = open_db(f"sqlite:///{tmp_path / 'seen.db'}")
    with engine.begin() as conn:  # a stored error that came from a stranger (e.g. a server text)
        conn.execute(
            sa.update(schema.feeds).values(
                failures=3, last_error=f"HTTP 500: {EVIL}\r\nX-Injected: 1", name=EVIL
            )
        )
    engine.dispose()
    for argv in (["status"], ["feeds", "list"]):
        code, out, err = run(capsys, *argv, "--config", conf)
        assert code == 0 and "pwned" in out, argv
        assert not UNSAFE.search(out + err), argv
    code, out, _ = run(capsys, "status", "--json", "--config", conf)
    assert code == 0 and "pwned" in out and not C0.search(out)


def test_check_prints_a_hostile_page_defused(
    http_server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = " ".join(["Afghan migrants in Russia applied for work permits this week."] * 20)
    page = (
        f"<html><head><title>{EVIL}</title></head><body><article><h1>{EVIL}</h1>"
        f"<p>{body}</p><p>{body}</p></article></body></html>"
    )
    url = http_server.route("/story", page, headers=HTML_TYPE)
    code, out, err = run(capsys, "check", url, "--config", str(write_config(tmp_path, [])))
    assert code == 0 and "article:" in out and "pwned" in out
    assert not UNSAFE.search(out + err)
