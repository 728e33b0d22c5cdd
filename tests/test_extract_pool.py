"""ExtractPool: real worker processes, a per-page timeout, crashes survived, nothing collateral."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import time
from pathlib import Path

import pytest

from tests.extract_helpers import (
    EN_PARAGRAPHS,
    RU_TITLE,
    alive,
    english_page,
    faulty_extract,
    russian_page,
    slow_page,
)
from watcher.config import ExtractConfig
from watcher.extract import extract_article
from watcher.extract_pool import ExtractPool, extract_many
from watcher.models import Article

EN = english_page().encode()
RU = russian_page("windows-1251").encode("cp1251")


def _batch(n: int) -> list[tuple[bytes, str, str | None]]:
    return [
        (EN, f"https://courier.example/en/{i}", None)
        if i % 2
        else (RU, f"https://zarechny.example/ru/{i}", "text/html; charset=windows-1251")
        for i in range(n)
    ]


def test_pool_gives_the_same_articles_as_in_process() -> None:
    cfg = ExtractConfig(workers=2)
    pages = _batch(6)
    pooled = extract_many(cfg, pages)
    here = [extract_article(h, u, cfg=cfg, content_type=c) for h, u, c in pages]
    assert pooled == here
    assert [a.url for a in pooled] == [u for _, u, _ in pages]
    assert {a.status for a in pooled} == {"ok"}


def test_in_process_mode_extracts_without_workers() -> None:
    async def run() -> tuple[list[Article], list[int]]:
        async with ExtractPool(ExtractConfig(), workers=0) as pool:
            articles = await asyncio.gather(*(pool.extract(h, u, c) for h, u, c in _batch(3)))
            return list(articles), pool.worker_pids()

    articles, pids = asyncio.run(run())
    assert pids == []
    assert [a.status for a in articles] == ["ok", "ok", "ok"]
    assert articles[0].title == RU_TITLE


def test_a_hanging_page_times_out_its_worker_is_killed_and_the_batch_completes() -> None:
    cfg = ExtractConfig(timeout=1.5)

    async def run() -> tuple[list[Article], list[int], list[int], float]:
        async with ExtractPool(cfg, workers=2, extractor=faulty_extract) as pool:
            await asyncio.gather(
                *(pool.extract(EN, f"https://w.example/warm{i}") for i in range(2))
            )
            before = pool.worker_pids()
            start = time.perf_counter()
            pages = [pool.extract(EN, "https://w.example/hang")]
            pages += [pool.extract(h, u, c) for h, u, c in _batch(8)]
            articles = await asyncio.gather(*pages)
            elapsed = time.perf_counter() - start
            after = await pool.extract(EN, "https://w.example/after")
            return [*articles, after], before, pool.worker_pids(), elapsed

    articles, before, after, elapsed = asyncio.run(run())
    hung, rest = articles[0], articles[1:]
    assert hung.status == "timeout" and hung.source == "none"
    assert hung.error == "extraction took longer than 1.5s"
    assert [a.status for a in rest] == ["ok"] * len(rest)
    assert EN_PARAGRAPHS[2] in rest[-1].text
    killed = set(before) - set(after)
    assert len(killed) == 1 and not alive(killed.pop())
    assert elapsed < 1.5 + 10  # cut off at the timeout, not after the hour it asked for


def test_a_worker_crash_is_failed_the_pool_recovers_and_other_pages_are_kept() -> None:
    cfg = ExtractConfig(timeout=30)

    async def run() -> tuple[list[Article], set[int]]:
        pids: set[int] = set()
        async with ExtractPool(cfg, workers=2, extractor=faulty_extract) as pool:
            pages = [pool.extract(h, u, c) for h, u, c in _batch(3)]
            pages.append(pool.extract(EN, "https://w.example/crash"))
            pages += [pool.extract(h, u, c) for h, u, c in _batch(3)]
            articles = list(await asyncio.gather(*pages))
            pids.update(pool.worker_pids())
            articles += await asyncio.gather(*(pool.extract(EN, f"https://w.example/n{i}") for i in range(4)))
            pids.update(pool.worker_pids())
        return articles, pids

    articles, pids = asyncio.run(run())
    crashed = articles[3]
    assert crashed.status == "failed"
    assert crashed.error == "extraction worker died (exit code 7)"
    assert [a.status for i, a in enumerate(articles) if i != 3] == ["ok"] * 10  # the pool serves on
    assert not any(alive(pid) for pid in pids)  # and leaves nothing running


@pytest.mark.skipif(not hasattr(os, "fork"), reason="a POSIX segfault")
def test_a_segfault_in_native_code_is_survived() -> None:
    pages = [(EN, "https://w.example/segfault", None), *_batch(2)]
    articles = extract_many(ExtractConfig(), pages, workers=1, extractor=faulty_extract)
    assert articles[0].status == "failed"
    assert articles[0].error == f"extraction worker died (exit code -{signal.SIGSEGV})"
    assert [a.status for a in articles[1:]] == ["ok", "ok"]


def test_a_page_whose_worker_died_once_is_retried_on_a_fresh_worker(tmp_path: Path) -> None:
    marker = tmp_path / "crashed"
    url = f"https://w.example/flaky?marker={marker}"
    articles = extract_many(ExtractConfig(), [(EN, url, None)], workers=1, extractor=faulty_extract)
    assert marker.exists()  # the first worker really died on it
    assert articles[0].status == "ok"
    assert EN_PARAGRAPHS[0] in articles[0].text


def test_an_extractor_exception_is_a_failed_article_not_a_dead_worker() -> None:
    async def run() -> tuple[Article, Article, list[int], list[int]]:
        async with ExtractPool(ExtractConfig(), workers=1, extractor=faulty_extract) as pool:
            bad = await pool.extract(EN, "https://w.example/raise")
            before = pool.worker_pids()
            good = await pool.extract(EN, "https://w.example/fine")
            return bad, good, before, pool.worker_pids()

    bad, good, before, after = asyncio.run(run())
    assert (bad.status, bad.error) == ("failed", "ValueError: extractor bug")
    assert good.status == "ok" and after == before  # the same worker served both


@pytest.mark.slow
def test_a_pathological_page_is_cut_off_by_the_timeout() -> None:
    slow = slow_page(20_000)  # within every limit, but seconds of work for trafilatura
    cfg = ExtractConfig(timeout=0.6)
    start = time.perf_counter()
    cost = extract_article(slow, "https://w.example/slow", cfg=ExtractConfig(favor="speed"))
    assert cost.status == "ok" and time.perf_counter() - start > 1.2  # it really is slow
    pages = [(slow, "https://w.example/slow", None), *_batch(4)]
    articles = extract_many(cfg, pages, workers=2)
    assert articles[0].status == "timeout"
    assert [a.status for a in articles[1:]] == ["ok"] * 4


def test_in_process_timeout_reports_the_page_and_moves_on() -> None:
    cfg = ExtractConfig(timeout=0.3)

    async def run() -> list[Article]:
        async with ExtractPool(cfg, workers=0, extractor=faulty_extract) as pool:
            slow = pool.extract(EN, "https://w.example/sleep?s=1.5")
            return list(await asyncio.gather(slow, pool.extract(EN, "https://w.example/next")))

    slow, after = asyncio.run(run())
    assert slow.status == "timeout"
    assert after.status == "ok"


def test_oversized_page_is_refused_without_a_worker() -> None:
    cfg = ExtractConfig(max_html_bytes=2048)

    async def run() -> tuple[Article, list[int], list[int]]:
        async with ExtractPool(cfg, workers=1, extractor=faulty_extract) as pool:
            before = pool.worker_pids()
            article = await pool.extract(EN, "https://w.example/crash")  # never reaches a worker
            return article, before, pool.worker_pids()

    article, before, after = asyncio.run(run())
    assert article.status == "too_large" and after == before and all(alive(p) for p in after)


def test_leaving_the_pool_with_a_page_in_flight_stops_every_worker() -> None:
    async def run() -> tuple[list[int], float]:
        async with ExtractPool(
            ExtractConfig(timeout=600), workers=2, extractor=faulty_extract
        ) as pool:
            pids = pool.worker_pids()
            task = asyncio.create_task(pool.extract(EN, "https://w.example/hang"))
            await asyncio.sleep(1.0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            start = time.perf_counter()
        return pids, time.perf_counter() - start

    pids, closing = asyncio.run(run())
    assert closing < 10
    assert not any(alive(pid) for pid in pids)


def test_a_cancelled_caller_does_not_leak_its_worker() -> None:
    async def run() -> Article:
        async with ExtractPool(
            ExtractConfig(timeout=1.0), workers=1, extractor=faulty_extract
        ) as pool:
            task = asyncio.create_task(pool.extract(EN, "https://w.example/hang"))
            await asyncio.sleep(0.2)
            task.cancel()
            # the only worker is freed once the hung page times out, then serves the next one
            return await asyncio.wait_for(pool.extract(EN, "https://w.example/next"), 30)

    assert asyncio.run(run()).status == "ok"


def test_extract_outside_the_context_is_a_programming_error() -> None:
    pool = ExtractPool(ExtractConfig(), workers=1)
    with pytest.raises(RuntimeError, match="async with"):
        asyncio.run(pool.extract(EN, "https://w.example/"))


def test_pool_size_follows_the_config() -> None:
    assert ExtractPool(ExtractConfig(workers=3)).size == 3
    assert ExtractPool(ExtractConfig(workers=0)).size >= 1
    assert ExtractPool(ExtractConfig(workers=3), workers=0).size == 0


def test_a_retired_worker_is_replaced_only_when_another_page_comes() -> None:
    """The page that retires a worker starts no successor: a cycle ending there starts none."""

    async def run() -> tuple[int, int, str]:
        async with ExtractPool(ExtractConfig(), workers=1, recycle_after=2, lull=0.0) as pool:
            pages = _batch(3)
            for h, u, c in pages[:2]:
                await pool.extract(h, u, c)
            after_two = pool.restarts  # the worker retired with its second page
            h, u, c = pages[2]
            third = await pool.extract(h, u, c)
            return after_two, pool.restarts, third.status

    after_two, after_three, status = asyncio.run(run())
    assert after_two == 0  # no process started for a page that may never come
    assert (after_three, status) == (1, "ok")  # the next page started the successor


def test_workers_are_recycled_after_a_number_of_pages() -> None:
    async def run() -> tuple[list[Article], list[list[int]]]:
        async with ExtractPool(ExtractConfig(), workers=1, recycle_after=2, lull=0.0) as pool:
            seen = [pool.worker_pids()]
            articles = []
            for h, u, c in _batch(5):
                articles.append(await pool.extract(h, u, c))
                seen.append(pool.worker_pids())
            return articles, seen

    articles, seen = asyncio.run(run())
    assert [a.status for a in articles] == ["ok"] * 5
    served = [pids[0] for pids in seen[1:]]  # the worker in place after each page
    assert len(dict.fromkeys(served)) == 3  # 5 pages, a new worker every 2: three in turn
    # the retired workers exit by themselves (reaped by whoever starts a process next: here, us)
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in served) and time.monotonic() < deadline:
        multiprocessing.active_children()
        time.sleep(0.05)
    assert not any(alive(pid) for pid in served)


def test_a_worker_past_its_page_count_keeps_serving_while_pages_wait() -> None:
    """Past recycle_after a worker retires at the first lull, not with pages queued behind it
    (issue 16: a successor started for a cycle's last pages cost a second of CPU in the tail);
    at twice the count it retires even without one."""

    async def run() -> tuple[list[Article], int, list[int], list[int]]:
        async with ExtractPool(ExtractConfig(), workers=1, recycle_after=2, lull=0.0) as pool:
            pages = _batch(5)
            # All five queued at once: the worker never runs dry until the fifth page.
            articles = await asyncio.gather(*(pool.extract(h, u, c) for h, u, c in pages))
            pids = pool.worker_pids()
            restarts = pool.restarts
            # One page alone: the worker (past its count) retires after it, the next starts anew.
            h, u, c = pages[0]
            articles = [*articles, await pool.extract(h, u, c), await pool.extract(h, u, c)]
            return articles, restarts, pids, [pool.restarts, *pool.worker_pids()]

    articles, restarts, pids, after = asyncio.run(run())
    assert [a.status for a in articles] == ["ok"] * 7
    # Pages 1-4 on the first worker (retired at the cap of 4), page 5 on a second one.
    assert restarts == 1 and len(pids) == 1
    # Page 6 is the second worker's second: past its count with nothing waiting, it retires;
    # page 7 starts a third.
    assert after[0] == 2 and after[1] != pids[0]


def test_a_worker_past_its_page_count_retires_only_after_a_lull_without_pages() -> None:
    """Issue 16: a queue that runs dry for a moment inside a cycle is not a lull (retiring there
    started a successor, ~1 s of CPU, mid-cycle); ``lull`` seconds without a page is one."""

    async def run() -> tuple[list[str], list[int], list[int], int]:
        async with ExtractPool(ExtractConfig(), workers=1, recycle_after=2, lull=0.5) as pool:
            statuses, pids = [], []
            for h, u, c in _batch(4):  # one at a time: the queue is empty after each page
                statuses.append((await pool.extract(h, u, c)).status)
                pids.append(pool.worker_pids()[0])
            restarts_before = pool.restarts
            await asyncio.sleep(1.5)  # a real lull: the worker past its count retires
            h, u, c = _batch(1)[0]
            statuses.append((await pool.extract(h, u, c)).status)
            return statuses, pids, [restarts_before, pool.restarts], pool.worker_pids()[0]

    statuses, pids, restarts, last = asyncio.run(run())
    assert statuses == ["ok"] * 5
    assert len(set(pids)) == 1 and restarts[0] == 0  # four pages, no lull: one worker throughout
    assert restarts[1] == 1 and last != pids[0]  # after the lull, a fresh worker took the next page
    deadline = time.monotonic() + 10
    while alive(pids[0]) and time.monotonic() < deadline:
        multiprocessing.active_children()
        time.sleep(0.05)
    assert not alive(pids[0])  # the retired one exited
