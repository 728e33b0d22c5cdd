"""`watcher fetch` end to end: real HTTP server on 127.0.0.1, real SQLite file, the shipped topic."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.farm import (
    AFGHAN_REFUGEES_RU,
    AFGHAN_WORKERS,
    LOCAL_WEATHER,
    TALIBAN_TRADE,
    closed_port,
    page,
    serve_feed,
    write_config,
)
from tests.server import Server
from watcher.cli import main


def serve_stories(server: Server) -> dict[str, str]:
    urls = {}
    for story in (AFGHAN_WORKERS, AFGHAN_REFUGEES_RU, TALIBAN_TRADE, LOCAL_WEATHER):
        urls[story.slug] = server.route(f"/news/{story.slug}.html", page(story))
    return urls


def fetch_json(config: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, object]:
    capsys.readouterr()
    code = main(["fetch", "--config", str(config), "--json", *extra])
    out = capsys.readouterr().out
    assert code == 0, out
    data = json.loads(out)
    assert isinstance(data, dict)
    return data


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def test_fetch_stores_matches_once_across_feeds_and_repolls_nothing(
    tmp_path: Path, http_server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    urls = serve_stories(http_server)
    # Feed A carries the workers story with tracking parameters; feed B carries it clean.
    feed_a = serve_feed(
        http_server,
        "/a.xml",
        "Feed A",
        [
            (
                AFGHAN_WORKERS.title,
                urls["afghan-workers"] + "?utm_source=rss&utm_medium=feed",
                "a-1",
            ),
            (TALIBAN_TRADE.title, urls["taliban-trade"], "a-2"),
            (LOCAL_WEATHER.title, urls["storm"], "a-3"),
        ],
    )
    feed_b = serve_feed(
        http_server,
        "/b.xml",
        "Feed B",
        [
            (AFGHAN_WORKERS.title, urls["afghan-workers"], "b-1"),
            (AFGHAN_REFUGEES_RU.title, urls["afgancy-ubezhishche"], "b-2"),
        ],
    )
    config = write_config(tmp_path, [("Feed A", feed_a), ("Feed B", feed_b)])

    first = fetch_json(config, capsys)
    assert first["feeds"] == 2
    assert first["new_entries"] == 4
    assert first["errors"] == []
    matches = first["matches"]
    assert isinstance(matches, list)
    matched_urls = sorted(str(m["url"]).split("?")[0] for m in matches)
    assert matched_urls == sorted([urls["afghan-workers"], urls["afgancy-ubezhishche"]])
    for m in matches:
        assert set(m) >= {"entry_id", "url", "title", "topic", "score", "reasons"}
        assert 0.0 <= m["score"] <= 1.0 and m["reasons"]

    db = tmp_path / "seen.db"
    assert rows(db, "select count(*) from entries") == [(4,)]
    workers = rows(db, f"select id from entries where url = '{urls['afghan-workers']}'")
    assert len(workers) == 1, "the article reached through two feeds (once with utm_*) is stored once"
    assert rows(db, f"select count(*) from entry_feeds where entry_id = {workers[0][0]}") == [(2,)]
    # Evidence kept for matches: compressed page, text, extractor version, times.
    evidence = rows(
        db,
        "select a.raw_html is not null, length(a.text) > 200, a.extractor_version != '', "
        "e.first_seen_at is not null, a.fetched_at is not null from matches m "
        "join articles a on a.entry_id = m.entry_id join entries e on e.id = m.entry_id",
    )
    assert evidence and all(all(r) for r in evidence)
    page_hits = {slug: http_server.hits(f"/news/{slug}.html") for slug in urls}
    assert all(n == 1 for n in page_hits.values()), page_hits

    second = fetch_json(config, capsys)
    assert second["new_entries"] == 0 and second["matches"] == []
    assert {slug: http_server.hits(f"/news/{slug}.html") for slug in urls} == page_hits
    assert rows(db, "select count(*) from entries") == [(4,)]
    assert rows(db, "select count(*) from matches") == [(2,)]


def test_bad_feeds_each_give_one_line_and_the_rest_is_stored(
    tmp_path: Path, http_server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    urls = serve_stories(http_server)
    good = serve_feed(
        http_server, "/good.xml", "Good", [(AFGHAN_WORKERS.title, urls["afghan-workers"], "g-1")]
    )
    missing = http_server.url("/missing.xml")  # 404
    html_page = http_server.route(
        "/front.html", "<html><head><title>Front</title></head><body>Hi</body></html>"
    )
    malformed = http_server.route(
        "/broken.xml",
        "<?xml version='1.0'?><rss><channel><title>x</ti",
        200,
        {"Content-Type": "application/rss+xml"},
    )
    unreachable = f"http://127.0.0.1:{closed_port()}/feed.xml"
    feeds = [
        ("Good", good),
        ("Missing", missing),
        ("Front page", html_page),
        ("Broken", malformed),
        ("Down", unreachable),
    ]
    config = write_config(tmp_path, feeds)

    data = fetch_json(config, capsys)
    errors = data["errors"]
    assert isinstance(errors, list)
    assert sorted(e["feed"] for e in errors) == sorted(["Missing", "Front page", "Broken", "Down"])
    for e in errors:
        assert e["error"] and "\n" not in e["error"]
    assert [m["url"] for m in data["matches"]] == [urls["afghan-workers"]]

    capsys.readouterr()
    assert main(["fetch", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    error_lines = [line for line in out.splitlines() if line.startswith("error ")]
    assert len(error_lines) == 4
    for name in ("Missing", "Front page", "Broken", "Down"):
        assert sum(name in line for line in error_lines) == 1
    assert "5 feeds polled, 0 new entries, 0 matches, 4 errors" in out


def test_feed_option_polls_just_that_feed(
    tmp_path: Path, http_server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    urls = serve_stories(http_server)
    configured = serve_feed(http_server, "/c.xml", "C", [(LOCAL_WEATHER.title, urls["storm"], "c-1")])
    other = serve_feed(http_server, "/o.xml", "O", [(AFGHAN_WORKERS.title, urls["afghan-workers"], "o-1")])
    config = write_config(tmp_path, [("C", configured)])
    data = fetch_json(config, capsys, "--feed", other)
    assert data["feeds"] == 1 and data["new_entries"] == 1
    assert http_server.hits("/c.xml") == 0
    assert rows(tmp_path / "seen.db", f"select count(*) from feeds where url = '{other}'") == [(1,)]


def test_config_and_usage_errors_have_their_exit_codes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[http]\nallow_private_adresses = true\n", encoding="utf-8")
    assert main(["fetch", "--config", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "http.allow_private_adresses" in err and "allow_private_addresses" in err
    assert main(["fetch", "--no-such-flag"]) == 2
    assert main(["fetch", "--config", str(tmp_path / "absent.toml")]) == 1
    assert "no such config file" in capsys.readouterr().err


def test_unreachable_configured_feeds_report_one_line_each_and_exit_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feeds = [(f"Feed {i}", f"http://127.0.0.1:{closed_port()}/rss") for i in range(3)]
    config = write_config(tmp_path, feeds)
    assert main(["fetch", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert sum(line.startswith("error Feed ") for line in out.splitlines()) == 3


def test_a_page_that_hangs_the_extractor_is_cut_off_and_the_rest_of_the_batch_is_stored(
    tmp_path: Path, http_server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.extract_helpers import slow_page

    urls = serve_stories(http_server)
    slow = http_server.route("/news/slow.html", slow_page(20_000))
    feed = serve_feed(
        http_server,
        "/f.xml",
        "F",
        [
            ("A very long page", slow, "s-1"),
            (AFGHAN_WORKERS.title, urls["afghan-workers"], "f-1"),
            (LOCAL_WEATHER.title, urls["storm"], "f-2"),
            (AFGHAN_REFUGEES_RU.title, urls["afgancy-ubezhishche"], "f-3"),
        ],
    )
    config = write_config(tmp_path, [("F", feed)], "")
    text = config.read_text(encoding="utf-8").replace(
        "[extract]\nworkers = 1", "[extract]\nworkers = 2\ntimeout = 0.6"
    )
    config.write_text(text, encoding="utf-8")
    data = fetch_json(config, capsys)
    assert data["new_entries"] == 4 and data["errors"] == []
    db = tmp_path / "seen.db"
    statuses = dict(rows(db, "select e.link, a.status from entries e join articles a on a.entry_id = e.id"))
    assert statuses[slow] == "fallback"
    assert rows(
        db, f"select a.error from articles a join entries e on e.id = a.entry_id where e.link = '{slow}'"
    )[0][0].startswith("extraction took longer")
    assert [statuses[urls[s]] for s in ("afghan-workers", "storm", "afgancy-ubezhishche")] == ["ok"] * 3
    assert sorted(str(m["url"]) for m in data["matches"]) == sorted(
        [urls["afghan-workers"], urls["afgancy-ubezhishche"]]
    )


def test_progress_bar_on_a_terminal_and_quiet_in_pipes(tmp_path: Path, http_server: Server) -> None:
    import pty

    urls = serve_stories(http_server)
    feed = serve_feed(http_server, "/p.xml", "P", [(LOCAL_WEATHER.title, urls["storm"], "p-1")])
    config = write_config(tmp_path, [("P", feed)])
    cmd = [sys.executable, "-m", "watcher", "fetch", "--config", str(config)]
    env = {k: v for k, v in os.environ.items() if k not in ("WATCHER_CONFIG", "WATCHER_DB")}
    env["COLUMNS"] = "120"
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(cmd, stdin=secondary, stdout=secondary, stderr=secondary, env=env, cwd=tmp_path)
    os.close(secondary)
    chunks = []
    while True:
        try:
            data = os.read(primary, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(primary)
    assert proc.wait(timeout=60) == 0
    on_tty = b"".join(chunks).decode(errors="replace")
    assert "articles extracted" in on_tty and "\x1b[" in on_tty  # the bar, drawn with terminal codes

    piped = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert piped.returncode == 0
    assert "\x1b[" not in piped.stdout + piped.stderr
    assert "articles extracted" not in piped.stdout + piped.stderr
    assert piped.stdout.strip().splitlines()[-1].startswith("1 feeds polled")


@pytest.mark.skipif(not hasattr(os, "SCHED_BATCH"), reason="SCHED_BATCH is Linux's")
def test_a_one_shot_fetch_cycle_runs_as_batch_work(tmp_path: Path, http_server: Server) -> None:
    # issue 16: its wake-ups (pages read, workers' answers) do not preempt the extraction workers
    urls = serve_stories(http_server)
    feed = serve_feed(http_server, "/b.xml", "B", [(AFGHAN_WORKERS.title, urls["afghan-workers"], "b-1")])
    config = write_config(tmp_path, [("B", feed)])
    script = (
        "import os, sys\n"
        "from watcher.cli import main\n"
        "os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))  # as cron starts it\n"
        "import watcher.pipeline as p\n"
        "run, during = p.run_cycle, []\n"
        "def spy(*a, **k):\n"
        "    during.append(os.sched_getscheduler(0))\n"
        "    return run(*a, **k)\n"
        "p.run_cycle = spy\n"
        "code = main(['fetch', '--json', '--config', sys.argv[1]])\n"
        "print('policy', during, os.sched_getscheduler(0), code)\n"
    )
    cmd = [sys.executable, "-c", script, str(config)]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    data = json.loads(out.stdout.splitlines()[0])
    assert data["new_entries"] == 1 and len(data["matches"]) == 1, out.stderr
    # batch while the cycle runs; the process's own policy again once it is over
    assert out.stdout.splitlines()[-1] == f"policy [{os.SCHED_BATCH}] {os.SCHED_OTHER} 0"
