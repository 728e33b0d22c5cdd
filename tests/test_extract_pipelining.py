"""ExtractPool pipelining: the next page waits in a worker's pipe, yet every guarantee holds.

Each test runs one worker, so the second page really is sent to the worker while it is busy
with the first: a timeout must still count from when the worker starts a page, and a page sent
to a worker that hangs or dies must reach the fresh worker instead of being lost.
"""

from __future__ import annotations

import asyncio

from tests.extract_helpers import EN_PARAGRAPHS, alive, english_page, faulty_extract
from watcher.config import ExtractConfig
from watcher.extract_pool import ExtractPool
from watcher.models import Article

EN = english_page().encode()


def _run(cfg: ExtractConfig, urls: list[str], **kw: int) -> tuple[list[Article], int, list[int]]:
    async def go() -> tuple[list[Article], int, list[int]]:
        async with ExtractPool(cfg, workers=1, extractor=faulty_extract, **kw) as pool:
            articles = await asyncio.gather(*(pool.extract(EN, u) for u in urls))
            return list(articles), pool.restarts, pool.worker_pids()

    return asyncio.run(go())


def test_a_timeout_counts_from_when_the_worker_starts_the_page() -> None:
    # 3 pages of 0.9 s on one worker: each is within 1.5 s, though the third was sent ~1.8 s
    # before it could start.  A clock started at sending would cut off the second and third.
    urls = [f"https://w.example/sleep?s=0.9&n={i}" for i in range(3)]
    articles, restarts, _ = _run(ExtractConfig(timeout=1.5), urls)
    assert [a.status for a in articles] == ["ok", "ok", "ok"]
    assert restarts == 0


def test_a_page_sent_behind_a_hanging_one_reaches_the_fresh_worker() -> None:
    urls = ["https://w.example/hang", "https://w.example/behind", "https://w.example/last"]
    articles, restarts, pids = _run(ExtractConfig(timeout=1.0), urls)
    assert articles[0].status == "timeout"
    assert [a.status for a in articles[1:]] == ["ok", "ok"]
    assert EN_PARAGRAPHS[0] in articles[1].text
    assert restarts == 1 and not any(alive(p) for p in pids)  # the pool left nothing running


def test_a_page_sent_behind_a_crash_is_kept_and_the_crash_is_retried_once() -> None:
    urls = ["https://w.example/crash", "https://w.example/behind", "https://w.example/last"]
    articles, restarts, _ = _run(ExtractConfig(timeout=30), urls)
    assert (articles[0].status, articles[0].error) == (
        "failed",
        "extraction worker died (exit code 7)",
    )
    assert [a.status for a in articles[1:]] == ["ok", "ok"]
    assert restarts == 2  # the first death, then the retry's death: the page behind cost none


def test_recycling_is_exact_while_pages_are_pipelined() -> None:
    urls = [f"https://w.example/p{i}" for i in range(5)]
    articles, restarts, _ = _run(ExtractConfig(), urls, recycle_after=2)
    assert [a.status for a in articles] == ["ok"] * 5
    # Pages kept waiting behind page 2, so the worker went on to the cap (twice recycle_after)
    # and retired exactly there: a fresh worker after page 4 only (issue 16).
    assert restarts == 1
