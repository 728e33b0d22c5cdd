"""The real daemon process: polls on schedule, writes the digest at its minute, one per database,
SIGTERM exits 0 in time; and it survives SIGKILL at random points with nothing lost or repeated."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from tests.farm import (
    AFGHAN_REFUGEES_RU,
    AFGHAN_WORKERS,
    LOCAL_WEATHER,
    TALIBAN_TRADE,
    Story,
    page,
    rss,
    serve_feed,
    write_config,
)
from tests.server import Server

ROOT = Path(__file__).resolve().parents[1]


def start(config: Path, *args: str, log: Path | None = None) -> subprocess.Popen[bytes]:
    """Start `watcher run`; its log goes to `log` (a file: a full pipe would block the daemon)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("WATCHER_CONFIG", None)
    env.pop("WATCHER_DB", None)
    with open(log or os.devnull, "ab") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "watcher", "run", "--config", str(config), *args],
            cwd=config.parent,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )


def wait_for(cond: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def query(db: Path, sql: str) -> list[tuple[object, ...]]:
    if not db.exists():
        return []
    try:
        with sqlite3.connect(db, timeout=10) as conn:
            return conn.execute(sql).fetchall()
    except sqlite3.OperationalError:
        return []


def daemon_config(tmp: Path, feeds: list[tuple[str, str]], digest_at: str) -> Path:
    extra = (
        f'[schedule]\npoll_interval = "1s"\nmin_interval = "1s"\nmax_interval = "2s"\n'
        f'digest_at = "{digest_at}"\ntimezone = "UTC"\nlease = "3s"\n'
    )
    return write_config(tmp, feeds, extra)


def test_daemon_polls_writes_digest_refuses_second_instance_and_stops_on_sigterm(
    tmp_path: Path, http_server: Server
) -> None:
    urls = {s.slug: http_server.route(f"/n/{s.slug}.html", page(s)) for s in (AFGHAN_WORKERS, LOCAL_WEATHER)}
    feed = serve_feed(
        http_server,
        "/feed.xml",
        "F",
        [
            (AFGHAN_WORKERS.title, urls["afghan-workers"], "1"),
            (LOCAL_WEATHER.title, urls["storm"], "2"),
        ],
    )
    digest_at = (datetime.now(UTC) + timedelta(seconds=25)).strftime("%H:%M:%S")
    config = daemon_config(tmp_path, [("F", feed)], digest_at)
    db = tmp_path / "seen.db"
    log = tmp_path / "daemon.log"
    proc = start(config, "--log-format", "json", log=log)
    try:
        wait_for(lambda: query(db, "select count(*) from matches") == [(1,)], 60, "the match")
        polls_before = http_server.hits("/feed.xml")
        wait_for(lambda: http_server.hits("/feed.xml") > polls_before, 20, "a second scheduled poll")

        second = start(config, log=tmp_path / "second.log")
        second.wait(timeout=60)
        assert second.returncode == 1
        assert "already running" in (tmp_path / "second.log").read_text()

        wait_for(lambda: any((tmp_path / "digests").glob("*.md")), 60, "the digest at its minute")
        digest = next((tmp_path / "digests").glob("*.md")).read_text(encoding="utf-8")
        assert AFGHAN_WORKERS.title in digest and LOCAL_WEATHER.title not in digest
        assert query(db, "select count(*) from matches where digest_id is null") == [(0,)]

        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
        assert proc.returncode == 0
        assert time.monotonic() - t0 < 10
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err_text = log.read_text(encoding="utf-8")
    assert '"event": "cycle"' in err_text, "structured log lines with --log-format json"
    assert '"feed":' in err_text


class GrowingFarm:
    """A feed that gains one item every `every` seconds, alternating on- and off-topic stories."""

    STORIES = (AFGHAN_WORKERS, LOCAL_WEATHER, AFGHAN_REFUGEES_RU, TALIBAN_TRADE)

    def __init__(self, server: Server, every: float = 0.5) -> None:
        self.server, self.every, self.t0 = server, every, time.monotonic()
        self.served: set[int] = set()
        self.lock = threading.Lock()
        server.handler("/grow.xml", self.feed)

    def story(self, n: int) -> Story:
        base = self.STORIES[n % len(self.STORIES)]
        return Story(f"{base.slug}-{n}", f"{base.title} (part {n})", base.body, base.lang)

    def relevant(self, n: int) -> bool:
        return self.STORIES[n % len(self.STORIES)] in (AFGHAN_WORKERS, AFGHAN_REFUGEES_RU)

    def count(self) -> int:
        return 1 + int((time.monotonic() - self.t0) / self.every)

    def feed(self, h: BaseHTTPRequestHandler) -> None:
        n = self.count()
        items = []
        for i in range(max(0, n - 400), n):  # long enough that nothing scrolls away unseen
            s = self.story(i)
            url = self.server.route(f"/g/{s.slug}.html", page(s))
            items.append((s.title, url, s.slug))
            with self.lock:
                self.served.add(i)
        body = rss("Growing", list(reversed(items))).encode()
        h.send_response(200)
        h.send_header("Content-Type", "application/rss+xml")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)


@pytest.mark.slow
def test_sigkill_at_random_points_loses_and_repeats_nothing(tmp_path: Path, http_server: Server) -> None:
    farm = GrowingFarm(http_server, every=0.4)
    config = daemon_config(tmp_path, [("Growing", http_server.url("/grow.xml"))], "03:00")
    db = tmp_path / "seen.db"
    rng = random.Random(20261123)
    env = {k: v for k, v in os.environ.items() if k not in ("WATCHER_CONFIG", "WATCHER_DB")}
    kills = 0
    runs = 0
    while kills < 20 and runs < 60:
        runs += 1
        if runs % 3 == 0:  # a digest run, killed at a random point too
            proc = subprocess.Popen(
                [sys.executable, "-m", "watcher", "digest", "--config", str(config)],
                cwd=tmp_path,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(rng.uniform(0.2, 2.5))
        else:
            proc = start(config)
            time.sleep(rng.uniform(0.3, 4.0))
        if proc.poll() is None:
            proc.kill()
            kills += 1
        proc.wait()
    assert kills >= 20
    # Stop serving new items, then let a clean run catch up and a final digest take everything.
    final_count = farm.count()
    farm.count = lambda: final_count  # type: ignore[method-assign]
    time.sleep(3.5)  # the killed runs' feed leases (3 s) expire
    for command in ("fetch", "digest"):
        run = subprocess.run(
            [sys.executable, "-m", "watcher", command, "--config", str(config)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stderr

    # Every item served is stored (nothing lost), and nothing else is: a story stored twice under
    # two keys would show as an extra row (a UNIQUE url cannot, so its counts are not asserted).
    relevant = {n for n in farm.served if farm.relevant(n)}
    served = {http_server.url(f"/g/{farm.story(n).slug}.html") for n in farm.served}
    stored = [str(u) for (u,) in query(db, "select url from entries")]
    assert sorted(stored) == sorted(served), sorted(served.symmetric_difference(stored))[:5]
    joined = "select e.url from matches m join entries e on e.id = m.entry_id"
    matched = [str(u) for (u,) in query(db, joined)]
    expected = {http_server.url(f"/g/{farm.story(n).slug}.html") for n in relevant}
    assert sorted(matched) == sorted(expected), sorted(expected.symmetric_difference(matched))[:5]
    assert query(db, "select count(*) from matches where digest_id is null") == [(0,)]
    # Every match is in exactly one digest file (a resent digest reuses its file and Message-ID).
    texts = [p.read_text(encoding="utf-8") for p in (tmp_path / "digests").glob("*.md")]
    for url in expected:
        assert sum(url + ")" in t for t in texts) == 1, url
    sent = query(
        db,
        "select count(*) from matches m join digests d on d.id = m.digest_id where d.status = 'sent'",
    )
    assert sent == [(len(matched),)]
    assert query(db, "pragma integrity_check") == [("ok",)]


def test_missed_digest_is_sent_on_start_sighup_reloads_feeds_and_status_and_metrics_show_it(
    tmp_path: Path, http_server: Server
) -> None:
    import json
    import urllib.request

    from tests.farm import closed_port
    from watcher import store

    urls = {s.slug: http_server.route(f"/n/{s.slug}.html", page(s)) for s in (AFGHAN_WORKERS, LOCAL_WEATHER)}
    feed_a = serve_feed(http_server, "/a.xml", "A", [(AFGHAN_WORKERS.title, urls["afghan-workers"], "1")])
    feed_b = serve_feed(http_server, "/b.xml", "B", [(LOCAL_WEATHER.title, urls["storm"], "2")])
    # The digest was due an hour ago, and the daemon has known this database for two days: it was
    # down at digest time, so it sends on start-up.
    digest_at = (datetime.now(UTC) - timedelta(hours=1)).strftime("%H:%M")
    config = daemon_config(tmp_path, [("A", feed_a)], digest_at)
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            'formats = ["markdown"]', 'formats = ["markdown"]\nempty = "note"'
        ),
        encoding="utf-8",
    )
    db = tmp_path / "seen.db"
    engine = store.open_db(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.execute(
            store.schema.meta.insert().values(
                key="daemon_first_start", value=(datetime.now(UTC) - timedelta(days=2)).isoformat()
            )
        )
    engine.dispose()
    port = closed_port()
    log = tmp_path / "daemon.log"
    proc = start(config, "--metrics-port", str(port), log=log)
    try:
        wait_for(lambda: any((tmp_path / "digests").glob("*.md")), 60, "the catch-up digest")
        wait_for(lambda: http_server.hits("/a.xml") >= 1, 30, "feed A polled")

        def metrics() -> str:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                    return str(r.read().decode())
            except OSError:
                return ""

        wait_for(lambda: "watcher_polls_total" in metrics(), 30, "metrics")
        assert "watcher_cycle_seconds" in metrics()

        assert http_server.hits("/b.xml") == 0
        text = config.read_text(encoding="utf-8")
        config.write_text(
            text.replace(
                "# --- topics: begin", f'[[feeds]]\nname = "B"\nurl = "{feed_b}"\n\n# --- topics: begin'
            ),
            encoding="utf-8",
        )
        proc.send_signal(signal.SIGHUP)
        wait_for(lambda: http_server.hits("/b.xml") >= 1, 30, "feed B polled after SIGHUP")
        assert proc.poll() is None, "SIGHUP reloads, it does not stop"

        env = {k: v for k, v in os.environ.items() if k not in ("WATCHER_CONFIG", "WATCHER_DB")}
        seen: list[dict[str, Any]] = []

        def status_shows_a_cycle() -> bool:
            out = subprocess.run(
                [sys.executable, "-m", "watcher", "status", "--json", "--config", str(config)],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert out.returncode == 0, out.stderr
            seen.append(json.loads(out.stdout))
            # A tick (every second) that finds no feed due records a cycle of 0 feeds, and feed B
            # may be fetched but not yet recorded (its cycle is still running): read again.
            cycle = ((seen[-1]["daemon"] or {}).get("last_cycle") or {}).get("feeds")
            recorded = all(f["status"] in ("ok", "not_modified") for f in seen[-1]["feeds"])
            return bool(cycle) and recorded and len(seen[-1]["feeds"]) == 2

        wait_for(status_shows_a_cycle, 30, "status showing the last cycle and both feeds polled")
        status = seen[-1]
        assert status["daemon"]["pid"] == proc.pid
        # The last tick may have found no feed due (it ticks every second): its record is there,
        # and each feed's own row says it was polled.
        last = status["daemon"]["last_cycle"]
        assert last["at"] and last["errors"] == 0 and last["feeds"] >= 0
        assert status["daemon"]["next_digest_at"]
        assert {f["name"]: f["status"] in ("ok", "not_modified") for f in status["feeds"]} == {
            "A": True,
            "B": True,
        }
        assert {f["name"]: f["entries"] for f in status["feeds"]} == {"A": 1, "B": 1}
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
        assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_sigterm_while_the_daemon_starts_stops_it_cleanly(tmp_path: Path, http_server: Server) -> None:
    """Before the event loop installs its handlers, a SIGTERM is noted (not Python's exit -15) and the
    daemon stops as soon as it is up, with exit code 0."""
    http_server.route("/feed.xml", "<rss><channel><title>x</title></channel></rss>")
    config = daemon_config(tmp_path, [("wire", http_server.url("/feed.xml"))], "23:59")
    code = (
        "import logging, os, signal, sys\nfrom pathlib import Path\n"
        "from watcher import config, daemon, logfmt\n"
        "requested = daemon.stop_on_sigterm()\nlogfmt.setup(logging.INFO)\n"
        "os.kill(os.getpid(), signal.SIGTERM)  # while starting\n"
        "assert requested.is_set()\n"
        "sys.exit(daemon.run(lambda: config.load(Path(sys.argv[1])), stop_requested=requested))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(config)], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "stopping" in done.stderr
