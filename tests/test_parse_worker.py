"""FeedParser: feed documents parsed in a real helper process; a hang or a crash costs one feed."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.extract_helpers import alive
from tests.http_helpers import farm_config_raw, feed_farm, rss
from tests.server import Server
from watcher import config as config_mod
from watcher.models import FetchStatus, ParsedFeed
from watcher.parse_worker import FeedParser, parse_job
from watcher.pipeline import run_cycle_async
from watcher.store import open_db
from watcher.store.schema import entries, entry_feeds

pytestmark = pytest.mark.skipif(
    (os.cpu_count() or 1) < 2 or len(os.sched_getaffinity(0)) < 2,
    reason="the helper process is only used with more than one core",
)
RSS = "application/rss+xml"


def _doc(i: int, items: int = 3) -> bytes:
    return rss([(f"s{i}-{k}", f"Story {i}-{k}") for k in range(items)], title=f"Feed {i}")


def _job(body: bytes, i: int = 0) -> tuple[bytes, str, str | None, dict[str, str]]:
    return (body, f"https://news.example/feed/{i}.xml", RSS, {"content-type": RSS})


def _run(coro_fn):  # type: ignore[no-untyped-def]
    return asyncio.run(coro_fn())


def test_documents_are_parsed_by_the_helper_exactly_as_here() -> None:
    docs = [_doc(i) for i in range(30)]

    async def go() -> tuple[list[ParsedFeed], int, int | None]:
        async with FeedParser(start_after=0) as parser:
            await parser.parse(*_job(docs[0]))  # starts the helper, parsed here meanwhile
            for _ in range(200):
                if parser.pid is not None:
                    break
                await asyncio.sleep(0.05)
            got = await asyncio.gather(*(parser.parse(*_job(d, i)) for i, d in enumerate(docs)))
            return list(got), parser.sent, parser.pid

    got, sent, pid = _run(go)
    assert pid is not None and sent == len(docs)  # every document went to the helper
    assert got == [parse_job(_job(d, i)) for i, d in enumerate(docs)]
    assert not alive(pid)  # closed with the parser
    assert got[3].entries[1].url == "http://news.example/post/s3-1"


def test_small_runs_and_disabled_parsers_never_start_a_process() -> None:
    async def go(parser: FeedParser) -> tuple[int, int | None, list[ParsedFeed]]:
        async with parser:
            got = [await parser.parse(*_job(_doc(i), i)) for i in range(5)]
            await asyncio.sleep(0.3)
            return parser.sent, parser.pid, got

    for parser in (FeedParser(start_after=8), FeedParser(enabled=False, start_after=0)):
        sent, pid, got = _run(lambda p=parser: go(p))
        assert (sent, pid) == (0, None)
        assert [len(p.entries) for p in got] == [3] * 5


@pytest.mark.parametrize(
    ("poison", "error"),
    [
        (b"HANG", "parsing took longer than 1s"),
        (b"DIE", "the feed parser died (exit code 5)"),
        (b"GARBLE", "the feed parser sent an unreadable answer (UnpicklingError)"),
    ],
)
def test_a_document_that_hangs_kills_or_garbles_the_helper_fails_alone(poison: bytes, error: str) -> None:
    docs = [_doc(i) for i in range(12)]
    docs[5] = poison + docs[5]

    async def go() -> tuple[list[ParsedFeed], ParsedFeed, list[int]]:
        async with FeedParser(start_after=0, timeout=1.0, module="tests.faulty_parse_worker") as p:
            await p.parse(*_job(_doc(99)))
            for _ in range(200):
                if p.pid is not None:
                    break
                await asyncio.sleep(0.05)
            first = p.pid
            assert first is not None
            got = await asyncio.gather(*(p.parse(*_job(d, i)) for i, d in enumerate(docs)))
            for _ in range(200):  # the next document starts a fresh helper
                await p.parse(*_job(_doc(7), 7))
                if p.pid is not None:
                    break
                await asyncio.sleep(0.05)
            after = await p.parse(*_job(_doc(8), 8))
            assert p.pid is not None and p.pid != first
            return list(got), after, [first, p.pid]

    got, after, pids = _run(go)
    assert got[5].status == FetchStatus.PARSE_ERROR and not got[5].entries
    # The exit code comes from asyncio's child watcher, which reports 255 when another waiter in
    # the process reaped the child first: the reason is asserted up to it.
    assert (got[5].error or "").startswith(error.split(" (exit code")[0])
    for i, parsed in enumerate(got):
        if i != 5:  # the documents the helper held are parsed here: nothing collateral
            assert parsed == parse_job(_job(docs[i], i))
    assert len(after.entries) == 3
    assert not any(alive(pid) for pid in pids)


def test_a_parser_bug_in_the_helper_is_that_feeds_error_only() -> None:
    async def go() -> list[ParsedFeed]:
        async with FeedParser(start_after=0, module="tests.faulty_parse_worker") as p:
            await p.parse(*_job(_doc(99)))
            while p.pid is None:
                await asyncio.sleep(0.05)
            return list(await asyncio.gather(p.parse(*_job(b"RAISE" + _doc(1))), p.parse(*_job(_doc(2)))))

    bad, good = _run(go)
    assert bad.status == FetchStatus.PARSE_ERROR
    assert bad.error == "internal error: ValueError: parser bug"
    assert len(good.entries) == 3


def test_a_big_cycle_parses_on_the_helper_and_stores_every_entry_once(
    http_server: Server, tmp_path: Path
) -> None:
    n = 24
    feeds = feed_farm(http_server, n, extra=[("shared", "Carried by all")])
    raw = farm_config_raw(str(tmp_path / "w.db"), feeds)
    cfg = config_mod.parse(raw, tmp_path)
    engine = open_db(cfg.db_url)

    async def go() -> tuple[int, int, int]:
        async with FeedParser(start_after=4) as parser:
            report = await run_cycle_async(cfg, engine, models=[], parser=parser)
            while parser.pid is None and parser.enabled:
                await asyncio.sleep(0.05)
            again = await run_cycle_async(cfg, engine, models=[], parser=parser)
            return report.new_entries, parser.sent + parser.parsed_here, again.new_entries

    new, parsed, again = _run(go)
    assert new == n * 3 + 1 and parsed == n and again == 0
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(entries)).scalar() == n * 3 + 1
        shared = conn.execute(
            sa.select(entries.c.id).where(entries.c.url == "http://news.example/post/shared")
        )
        shared_id = shared.scalar_one()
        links = conn.execute(sa.select(sa.func.count()).where(entry_feeds.c.entry_id == shared_id))
        assert links.scalar() == n
