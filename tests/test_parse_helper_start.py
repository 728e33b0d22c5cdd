"""Issue 16: a one-cycle run (``watcher fetch``) starts the feed-parsing helper only when enough
documents may still come for it to pay for its start-up; a run told nothing (the daemon's parser)
starts it as before.  Real helper processes, a real cycle over a local HTTP server."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from tests.http_helpers import farm_config_raw, feed_farm, rss
from tests.server import Server
from watcher import config as config_mod
from watcher.models import ParsedFeed
from watcher.parse_worker import FeedParser, parse_job
from watcher.pipeline import run_cycle_async
from watcher.store import open_db

pytestmark = pytest.mark.skipif(
    (os.cpu_count() or 1) < 2 or len(os.sched_getaffinity(0)) < 2,
    reason="the helper process is only used with more than one core",
)
RSS = "application/rss+xml"


def _job(i: int) -> tuple[bytes, str, str | None, dict[str, str]]:
    body = rss([(f"s{i}-{k}", f"Story {i}-{k}") for k in range(3)], title=f"Feed {i}")
    return (body, f"https://news.example/feed/{i}.xml", RSS, {"content-type": RSS})


async def _parse(parser: FeedParser, n: int) -> list[ParsedFeed]:
    got = []
    for i in range(n):
        got.append(await parser.parse(*_job(i)))
        await asyncio.sleep(0.02)  # time for a helper that was started to come up
    return got


@pytest.mark.parametrize(("expected", "launched"), [(40, 0), (128 + 3, 0), (128 + 4, 1), (None, 1)])
def test_the_helper_starts_only_when_enough_documents_may_still_come(
    expected: int | None, launched: int
) -> None:
    # The fourth document is the first past start_after=3: 128 more must be expected after it.
    async def go() -> tuple[int, list[ParsedFeed]]:
        async with FeedParser(start_after=3) as parser:
            if expected is not None:
                parser.expect(expected)
            got = await _parse(parser, 40)
            return parser.launches, got

    launches, got = asyncio.run(go())
    assert launches == launched
    assert got == [parse_job(_job(i)) for i in range(40)]  # the same answers either way


def test_a_fetch_of_a_few_feeds_parses_them_without_a_helper(http_server: Server, tmp_path: Path) -> None:
    n = 12  # past start_after (8): the helper started here before issue 16's change
    raw = farm_config_raw(str(tmp_path / "w.db"), feed_farm(http_server, n))
    cfg = config_mod.parse(raw, tmp_path)
    report = asyncio.run(run_cycle_async(cfg, open_db(cfg.db_url), models=[]))
    assert report.new_entries == n * 3 and not report.errors
    assert report.parse_helper is False
