"""Feed-first metadata (issue 16): an entry's own date wins; the page's date only fills a gap.

A real cycle over a feed on 127.0.0.1 whose pages declare a date of their own: the entry that has
a pubDate keeps it in the digest and the web view (its page's date is not even searched), the one
without gets the page's.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.server import Server
from watcher import config as config_mod
from watcher.pipeline import run_cycle_async
from watcher.store import digests as store_digests
from watcher.store import open_db
from watcher.store.schema import articles, entries
from watcher.web import queries

FEED_DATE = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)
PAGE_DATE = datetime(2025, 1, 15, 8, 30, tzinfo=UTC)
TEXT = (
    "Afghan migrants in Russia wait weeks for a work permit, and the migrant centres in Moscow "
    "turn many of them away at the door. "
)


def _page(title: str) -> bytes:
    paras = "".join(f"<p>{TEXT}{i} {title}.</p>" for i in range(8))
    return (
        "<html lang='en'><head><title>" + title + "</title>"
        "<meta property='article:published_time' content='" + PAGE_DATE.isoformat() + "'>"
        "<meta property='og:site_name' content='Page Site'></head>"
        f"<body><article><h1>{title}</h1>{paras}</article></body></html>"
    ).encode()


def _feed(server: Server) -> bytes:
    dated = (
        f"<item><title>Dated story</title><link>{server.url('/dated')}</link><guid>d</guid>"
        "<pubDate>Mon, 02 Mar 2026 09:15:00 +0000</pubDate></item>"
    )
    undated = f"<item><title>Undated story</title><link>{server.url('/undated')}</link><guid>u</guid></item>"
    return (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>F</title>"
        f"<link>http://example.test/</link>{dated}{undated}</channel></rss>"
    ).encode()


@pytest.mark.parametrize("metadata", ["quick", "full"])
def test_entry_date_wins_and_the_page_date_fills_the_gap(
    http_server: Server, tmp_path: Path, metadata: str
) -> None:
    http_server.route("/feed.xml", _feed(http_server), headers={"Content-Type": "application/rss+xml"})
    for name in ("dated", "undated"):
        http_server.route(f"/{name}", _page(f"{name.title()} story"), headers={"Content-Type": "text/html"})
    raw = {
        "storage": {"db": str(tmp_path / "w.db")},
        "http": {"allow_networks": ["127.0.0.1"], "min_host_gap": 0.0},
        "extract": {"workers": 1, "parse_helper": False, "metadata": metadata},
        "feeds": [{"url": http_server.url("/feed.xml")}],
        "topics": [
            {
                "name": "t",
                "groups": [
                    {"name": "migration", "terms": ["migrant", "work permit"]},
                    {"name": "place", "terms": ["Russia", "Afghan", "Moscow"]},
                ],
            }
        ],
    }
    cfg = config_mod.parse(raw, tmp_path)
    engine = open_db(cfg.db_url)
    report = asyncio.run(run_cycle_async(cfg, engine))
    assert report.new_entries == 2 and report.extract_failures == 0

    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(entries.c.title, articles.c.published_at, articles.c.sitename).join(
                articles, articles.c.entry_id == entries.c.id
            )
        ).all()
    stored = {title: (published, site) for title, published, site in rows}
    # Quick metadata searches the page's date only for the entry without one (trafilatura's full
    # pass always does); the site name is read for both.
    assert stored["Undated story"][0] is not None
    assert (stored["Dated story"][0] is None) == (metadata == "quick")
    assert stored["Dated story"][1] == stored["Undated story"][1] == "Page Site"

    # Every reader puts the feed's date first, whatever the page said.
    pending = {m.title: m for m in store_digests.pending_matches(engine)}
    assert set(pending) == {"Dated story", "Undated story"}, "both pages are about the topic"
    assert pending["Dated story"].published == FEED_DATE
    assert pending["Undated story"].published == PAGE_DATE
    listed, _more = queries.list_matches(engine, queries.MatchFilter(), 10)
    web = {r.title: r.published for r in listed}
    assert web == {"Dated story": FEED_DATE, "Undated story": PAGE_DATE}
    for row in listed:
        shown = queries.evidence(engine, row.entry_id)
        assert shown is not None and shown.published == web[row.title]
