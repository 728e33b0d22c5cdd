"""SIGHUP (issue 17): the reload runs outside the signal handler and applies every changed setting,
or says which ones need a restart."""

from __future__ import annotations

import dataclasses
import json
import signal
import subprocess
import sys
from pathlib import Path

from tests.farm import AFGHAN_WORKERS, page, serve_feed, write_config
from tests.proc_helpers import clean_env, wait_for
from tests.server import Server
from watcher import reloading
from watcher.config import ExtractConfig, FeedConfig, load


def _config(tmp: Path, feed: str, poll: str, workers: int) -> Path:
    extra = f'[schedule]\npoll_interval = "{poll}"\nmin_interval = "1s"\nmax_interval = "2s"\n'
    path = write_config(tmp, [("F", feed)], extra)
    text = path.read_text(encoding="utf-8")
    text = text.replace("[extract]\nworkers = 1", f"[extract]\nworkers = {workers}")
    path.write_text(text, encoding="utf-8")
    return path


def test_plan_applies_what_it_can_and_names_what_needs_a_restart(tmp_path: Path, http_server: Server) -> None:
    old = load(_config(tmp_path, http_server.url("/f.xml"), "15m", 1), environ={})
    new = dataclasses.replace(
        old,
        db=str(tmp_path / "other.db"),
        extract=ExtractConfig(workers=3),
        feeds=(*old.feeds, FeedConfig(url="http://x.example/feed", name="X")),
        schedule=dataclasses.replace(old.schedule, poll_interval=60.0, digest_at="06:30"),
    )
    change = reloading.plan(old, new)
    assert set(change.applied) == {"feeds", "schedule.poll_interval", "schedule.digest_at"}
    assert set(change.need_restart) == {"storage.db", "extract"}
    # the running values stay until a restart; the rest is the new config
    assert change.cfg.db == old.db and change.cfg.extract == old.extract
    assert change.cfg.feeds == new.feeds and change.cfg.schedule == new.schedule
    assert reloading.plan(old, old).applied == () and reloading.plan(old, old).need_restart == ()


def test_sighup_reschedules_the_tick_and_logs_the_settings_that_need_a_restart(
    tmp_path: Path, http_server: Server
) -> None:
    story = http_server.route(f"/n/{AFGHAN_WORKERS.slug}.html", page(AFGHAN_WORKERS))
    feed = serve_feed(http_server, "/f.xml", "F", [(AFGHAN_WORKERS.title, story, "1")])
    config = _config(tmp_path, feed, "1h", 1)
    log = tmp_path / "daemon.log"
    with open(log, "ab") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "watcher", "run", "--config", str(config), "--log-format", "json"],
            cwd=tmp_path,
            env=clean_env(),
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
    try:
        wait_for(lambda: '"event": "cycle"' in log.read_text("utf-8"), 90, "the first cycle")
        polls = http_server.hits("/f.xml")
        assert polls == 1  # and no other for an hour
        _config(tmp_path, feed, "1s", 2)
        proc.send_signal(signal.SIGHUP)
        wait_for(lambda: http_server.hits("/f.xml") >= polls + 2, 30, "polls every second after SIGHUP")
        assert proc.poll() is None
        events = [json.loads(line) for line in log.read_text("utf-8").splitlines() if line.startswith("{")]
        reload = next(e for e in events if e.get("event") == "reload")
        assert reload["applied"] == ["schedule.poll_interval"]
        restart = next(e for e in events if e.get("event") == "reload_needs_restart")
        assert restart["settings"] == ["extract"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
