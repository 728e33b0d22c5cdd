"""Two real processes poll one SQLite file at once (issue 17): no feed is fetched twice.

The feeds fall due one after another over a few seconds, and two poller processes (each running
due-only cycles back to back, ``tests/claim_race.py``) race for them.  The local server's request log
is the witness: every feed was fetched exactly once, by one of the two, and both took part.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from tests.security_helpers import RSS_TYPE, rss_doc
from tests.server import Server
from tests.shared_data import ROOT
from watcher import config as config_mod
from watcher.store import feeds as store_feeds
from watcher.store import now_utc, open_db
from watcher.store.schema import entries, feeds

N_FEEDS = 40
SPREAD = 0.15  # seconds between two feeds falling due


def test_two_processes_never_fetch_one_feed_twice(http_server: Server, tmp_path: Path) -> None:
    paths = [f"/f{i}.xml" for i in range(N_FEEDS)]
    for i, path in enumerate(paths):
        items = [(f"Feed {i} item {k}", f"http://items.example/{i}/{k}", "text") for k in range(2)]
        http_server.route(path, rss_doc(f"Feed {i}", items), headers=RSS_TYPE, delay=0.05)
    feed_lines = "".join(
        f'[[feeds]]\nname = "f{i}"\nurl = "{http_server.url(p)}"\n\n' for i, p in enumerate(paths)
    )
    config = tmp_path / "config.toml"
    config.write_text(
        f'[storage]\ndb = "{tmp_path / "race.db"}"\n\n'
        '[http]\nallow_networks = ["127.0.0.1"]\nmin_host_gap = 0.0\n\n'
        '[extract]\nfetch_articles = false\nworkers = 1\n\n'
        '[schedule]\nmin_interval = "1h"\nmax_interval = "2h"\nlease = "5m"\n\n' + feed_lines,
        encoding="utf-8",
    )
    cfg = config_mod.load(config, environ={})
    engine = open_db(cfg.db_url)
    now = now_utc()
    store_feeds.sync_config_feeds(engine, cfg.feeds, now)
    with engine.begin() as conn:  # due one after another, from a second from now
        for i, fc in enumerate(cfg.feeds):
            due = now + timedelta(seconds=1 + i * SPREAD)
            conn.execute(sa.update(feeds).where(feeds.c.url == fc.url).values(next_poll_at=due))

    go = tmp_path / "go"
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHER_")}
    racers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.claim_race", str(config), str(go), "60"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    go.write_text("go")
    outputs = []
    for proc in racers:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        outputs.append(json.loads(out.strip().splitlines()[-1]))

    fetched = Counter(p for _, p, _ in http_server.requests)
    assert {p: fetched[p] for p in paths} == dict.fromkeys(paths, 1)  # each once, none missed
    polled = [f for o in outputs for f in o["polled"]]
    assert sorted(polled) == sorted(f"f{i}" for i in range(N_FEEDS))
    assert all(o["polled"] for o in outputs), outputs  # both processes took feeds: a real race
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(entries)).scalar_one() == 2 * N_FEEDS
        states = conn.execute(sa.select(feeds.c.last_status, feeds.c.lease_owner)).all()
    assert states == [("ok", None)] * N_FEEDS
    engine.dispose()
