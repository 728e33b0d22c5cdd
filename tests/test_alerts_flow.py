"""Alerts from `watcher fetch` and the daemon, end to end: feeds -> match -> Apprise -> local endpoint."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from tests.alert_helpers import Receiver, json_endpoint
from tests.farm import (
    AFGHAN_REFUGEES_RU,
    AFGHAN_WORKERS,
    LOCAL_WEATHER,
    page,
    rss,
    serve_feed,
    write_config,
)
from tests.server import Server
from watcher import cli


@pytest.fixture
def rec() -> Iterator[Receiver]:
    with json_endpoint() as r:
        yield r


def alerts_extra(rec: Receiver, schedule: str = "") -> str:
    return f'{schedule}\n[alerts]\nurls = ["{rec.url}"]\nmin_score = 0.5\n'


def fetch(capsys: pytest.CaptureFixture[str], config: Path, *argv: str) -> dict[str, object]:
    capsys.readouterr()
    assert cli.main(["fetch", "--config", str(config), "--json", *argv]) == 0
    data: dict[str, object] = json.loads(capsys.readouterr().out)
    return data


def test_fetch_alerts_what_it_found_once_and_no_alerts_skips(
    tmp_path: Path, http_server: Server, rec: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    pages = {s.slug: http_server.route(f"/n/{s.slug}.html", page(s)) for s in (AFGHAN_WORKERS, LOCAL_WEATHER)}
    feed = serve_feed(
        http_server,
        "/feed.xml",
        "F",
        [(AFGHAN_WORKERS.title, pages["afghan-workers"], "1"), (LOCAL_WEATHER.title, pages["storm"], "2")],
    )
    config = write_config(tmp_path, [("F", feed)], alerts_extra(rec))
    data = fetch(capsys, config)
    assert [m["title"] for m in data["matches"]] == [AFGHAN_WORKERS.title]  # type: ignore[attr-defined, index]
    assert data["alerts"]["status"] == "sent" and data["alerts"]["items"] == 1  # type: ignore[index, call-overload]
    assert len(rec.received) == 1
    first = rec.received[0]["message"]
    assert AFGHAN_WORKERS.title in first and pages["afghan-workers"] in first
    assert LOCAL_WEATHER.title not in rec.received[0]["message"]
    fetch(capsys, config)
    assert len(rec.received) == 1  # polled again: nothing new, nothing re-sent
    # a new relevant story, fetched with --no-alerts: recorded, never alerted
    ru = http_server.route(f"/n/{AFGHAN_REFUGEES_RU.slug}.html", page(AFGHAN_REFUGEES_RU))
    serve_feed(
        http_server,
        "/feed.xml",
        "F",
        [(AFGHAN_REFUGEES_RU.title, ru, "3"), (AFGHAN_WORKERS.title, pages["afghan-workers"], "1")],
    )
    data = fetch(capsys, config, "--no-alerts")
    assert [m["title"] for m in data["matches"]] == [AFGHAN_REFUGEES_RU.title]  # type: ignore[attr-defined, index]
    assert data["alerts"]["status"] == "skipped"  # type: ignore[index, call-overload]
    fetch(capsys, config)
    assert len(rec.received) == 1


def test_the_daemon_alerts_as_soon_as_its_cycle_records_a_match(
    tmp_path: Path, http_server: Server, rec: Receiver
) -> None:
    url = http_server.route(f"/n/{AFGHAN_WORKERS.slug}.html", page(AFGHAN_WORKERS))
    feed = serve_feed(http_server, "/feed.xml", "F", [(AFGHAN_WORKERS.title, url, "1")])
    schedule = (
        '[schedule]\npoll_interval = "1s"\nmin_interval = "1s"\nmax_interval = "2s"\n'
        'digest_at = "03:00"\ntimezone = "UTC"\nlease = "3s"\n'
    )
    config = write_config(tmp_path, [("F", feed)], alerts_extra(rec, schedule))
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHER_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "watcher", "run", "--config", str(config)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 90
        while not rec.received and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        assert rec.received, "no alert from the daemon"
        assert AFGHAN_WORKERS.title in rec.received[0]["message"]
        polls = http_server.hits("/feed.xml")
        deadline = time.monotonic() + 30
        while http_server.hits("/feed.xml") < polls + 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert http_server.hits("/feed.xml") >= polls + 2, "the daemon kept polling"
        assert len(rec.received) == 1  # polled again and again: alerted once
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    with closing(sqlite3.connect(tmp_path / "seen.db")) as conn:
        rows = conn.execute("select status, count(*) from alert_messages group by 1").fetchall()
    assert rows == [("sent", 1)]


def test_the_daemon_alerts_a_feed_s_match_before_a_slow_feed_ends_the_cycle(
    tmp_path: Path, http_server: Server, rec: Receiver
) -> None:
    """Alerts follow each feed's commit, not the end of the cycle (issue 15: "the minute it lands")."""
    url = http_server.route(f"/n/{AFGHAN_WORKERS.slug}.html", page(AFGHAN_WORKERS))
    fast = serve_feed(http_server, "/fast.xml", "Fast", [(AFGHAN_WORKERS.title, url, "1")])
    slow = http_server.route(
        "/slow.xml", rss("Slow", []), headers={"Content-Type": "application/rss+xml"}, delay=12
    )
    schedule = (
        '[schedule]\npoll_interval = "1h"\ndigest_at = "03:00"\ntimezone = "UTC"\nlease = "60s"\n'
    )
    config = write_config(tmp_path, [("Fast", fast), ("Slow", slow)], alerts_extra(rec, schedule))
    text = config.read_text(encoding="utf-8").replace("read_timeout = 5", "read_timeout = 30")
    config.write_text(text, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHER_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "watcher", "run", "--config", str(config)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 90
        while not rec.received and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert rec.received, "no alert from the daemon"
        with closing(sqlite3.connect(tmp_path / "seen.db", timeout=10)) as conn:
            ended = conn.execute("select count(*) from cycles where finished_at is not null").fetchone()
        assert ended == (0,), "the alert came only after the cycle ended"
        assert http_server.hits("/slow.xml") == 1
    finally:
        proc.kill()
        proc.wait()
