"""The review site under test: a real SQLite file filled as the pipeline fills it, uvicorn on
127.0.0.1 in a thread, and Debian's Chromium driven by Playwright (never a downloaded browser).

The articles here are written for these tests (the near misses score below the shipped
topic's threshold); the hostile strings are those of the digest tests.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.match_helpers import CONFIG, ON_TOPIC_LABOUR, ON_TOPIC_REFUGEES, RUSSIAN_ON_TOPIC
from tests.test_digest_hostile import SITE, TEXT, TITLE
from watcher import config, match, store
from watcher.config import Config
from watcher.models import Article, Document, Entry
from watcher.store import entries as store_entries
from watcher.store import schema

FEED = "http://127.0.0.1:9/feed.xml"  # never fetched: the entries are recorded directly
# Near misses: Afghans elsewhere, Russia only a wish (they score below the topic's threshold).
NEAR_QUEUE = Document(
    "Afghan students in Pakistan",
    "Afghan students in Pakistan fear deportation as visas expire. A few hope to go to Russia instead, "
    "one student said.",
    "en",
)
NEAR_QUOTA = Document(
    "Afghan workers in Iran",
    "Afghan workers in Iran face new permit rules. Some say they may try Russia next, a labour official "
    "in Tehran said.",
    "en",
)
OFF_TOPIC = Document(
    "Kazan opens a new tram line",
    "The city of Kazan opened a tram line to its northern districts on Sunday. Trams will run every "
    "seven minutes, the mayor said, and tickets cost the same as on the bus.",
    "en",
)
HOSTILE = Document(TITLE, TEXT, "en")
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def site_config(tmp: Path, **serve: Any) -> Config:
    """The shipped topic over a fresh SQLite file; no configured feeds; loopback allowed to fetch
    (the test feed server) only because the test says so."""
    cfg = config.load(CONFIG, db=str(tmp / "watcher.db"))
    http = dataclasses.replace(cfg.http, allow_networks=("127.0.0.1/32",), min_host_gap=0.0)
    digest = dataclasses.replace(
        cfg.digest, dir=tmp / "digests", email=dataclasses.replace(cfg.digest.email, enabled=False)
    )
    # The near misses here score well below the fitted threshold, which moves whenever the shipped
    # weights are refitted (0.20 against 0.40 now): a window wide enough for them and narrow enough
    # to leave the off-topic article (0.0) out.
    serve = {"near_margin": 0.35, **serve}
    return dataclasses.replace(
        cfg, feeds=(), http=http, digest=digest, serve=dataclasses.replace(cfg.serve, **serve)
    )


def record(
    cfg: Config,
    engine: sa.Engine,
    docs: Sequence[Document],
    *,
    now: datetime | None = None,
    site: str = "",
    url_prefix: str = "https://news.example/",
    raw: bytes | None = b"<html><body><p>the page as fetched</p></body></html>",
) -> list[int]:
    """Score the documents with the shipped topic and record them as one poll of FEED would;
    return their entry ids."""
    now = now or datetime.now(UTC)
    model = match.build_model(cfg.topics[0])
    items = []
    for i, doc in enumerate(docs):
        url = f"{url_prefix}{abs(hash((doc.title, i, now)))}"
        entry = Entry(FEED, url, url, None, doc.title, summary=doc.text[:200], published=now)
        score = model.score(doc)
        language = doc.language or score.language  # as extraction would have detected it
        article = Article(
            url, doc.title, doc.text, extractor_version="test", sitename=site, language=language
        )
        items.append(
            store_entries.NewItem(url, entry, article, (score,), raw if score.matched else None, now)
        )
    with engine.begin() as conn:
        feed_id = conn.execute(
            sa.select(schema.feeds.c.id).where(schema.feeds.c.url == FEED)
        ).scalar()
        if feed_id is None:
            feed_id = conn.execute(
                sa.insert(schema.feeds).values(url=FEED, name="Test Wire", created_at=now)
            ).inserted_primary_key[0]
        store_entries.record_items(conn, int(feed_id), items, now)
        ids = {
            u: i
            for u, i in conn.execute(sa.select(schema.entries.c.url, schema.entries.c.id))
        }
    return [int(ids[item.key]) for item in items]


def filled(
    tmp: Path, *, hostile: bool = True, **serve: Any
) -> tuple[Config, sa.Engine, dict[str, int]]:
    """A store with two English matches, a Russian one, a hostile one (unless ``hostile`` is
    false: the docs' screenshots), two near misses and an article off the topic."""
    cfg = site_config(tmp, **serve)
    engine = store.open_db(cfg.db_url)
    t0 = datetime.now(UTC) - timedelta(hours=3)
    names = ["labour", "refugees", "ru", "near_queue", "near_quota", "off"]
    docs = [ON_TOPIC_LABOUR, ON_TOPIC_REFUGEES, RUSSIAN_ON_TOPIC, NEAR_QUEUE, NEAR_QUOTA, OFF_TOPIC]
    ids = dict(zip(names, record(cfg, engine, docs, now=t0), strict=True))
    if not hostile:
        return cfg, engine, ids
    (ids["hostile"],) = record(
        cfg, engine, [HOSTILE], now=t0 + timedelta(hours=1), site=SITE,
        url_prefix="javascript:alert(document.cookie)//https://news.example/",
    )  # fmt: skip
    return cfg, engine, ids


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running(cfg: Config, engine: sa.Engine, *, token: str | None = None) -> Iterator[str]:
    """The review site served by uvicorn on 127.0.0.1 (a free port) in a thread; yields its URL."""
    from watcher.web import server

    where = server.Listen("127.0.0.1", free_port(), token)
    srv = server.make_server(cfg, engine, where)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{where.port}"
    finally:
        srv.should_exit = True
        thread.join(10)


def chromium_path() -> Path | None:
    found = shutil.which("chromium") or (str(CHROMIUM) if CHROMIUM.exists() else None)
    return Path(found) if found else None


@contextmanager
def browser_page(tmp: Path) -> Iterator[Any]:
    """A page of Debian's headless Chromium (fresh profile); skips when no Chromium is installed,
    except under CI, where that is a failure."""
    exe = chromium_path()
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("CI: Chromium is missing (apt-get install -y chromium)")
        pytest.skip("no Chromium on this machine (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp / "chromium-profile"),
            executable_path=str(exe),
            headless=True,
            args=CHROMIUM_ARGS,
        )
        try:
            page = context.new_page()
            page.set_default_timeout(30_000)
            yield page
        finally:
            context.close()
