"""SIGKILL of the processes a cycle uses (issue 17): an extraction worker and the feed-parsing
helper are killed while they hold a document, mid-batch.  Each says which process holds the document
(its pid in a marker file), so the kill lands there.  The cycle completes, nothing is lost or
stored twice, and the next cycle finds every feed healthy.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.extract_helpers import alive, faulty_extract
from tests.farm import AFGHAN_REFUGEES_RU, AFGHAN_WORKERS, LOCAL_WEATHER, TALIBAN_TRADE, page
from tests.security_helpers import RSS_TYPE, World, make_world, rss_doc
from tests.server import Server
from watcher.extract_pool import ExtractPool
from watcher.parse_worker import FeedParser
from watcher.pipeline import CycleReport, run_cycle_async
from watcher.store import schema

STORIES = (AFGHAN_WORKERS, LOCAL_WEATHER, AFGHAN_REFUGEES_RU, TALIBAN_TRADE)


async def _kill_when_marked(marker: Path, holders: Callable[[], list[int]]) -> int:
    """Wait for the process holding the document to write its pid, then SIGKILL it."""
    for _ in range(600):
        if marker.exists() and marker.read_text():
            break
        await asyncio.sleep(0.05)
    pid = int(marker.read_text())
    assert pid in holders(), (pid, holders())  # one of the cycle's processes, not a stray one
    await asyncio.sleep(0.2)  # it is asleep on the document now
    os.kill(pid, signal.SIGKILL)
    return pid


def _stored(world: World) -> list[tuple[str, str]]:
    with world.engine.connect() as conn:
        rows = conn.execute(
            sa.select(schema.entries.c.link, schema.articles.c.status)
            .join(schema.articles, schema.articles.c.entry_id == schema.entries.c.id)
            .order_by(schema.entries.c.link)
        ).all()
    return [(r.link, r.status) for r in rows]


def test_an_extraction_worker_killed_mid_batch_the_cycle_completes(
    http_server: Server, tmp_path: Path
) -> None:
    marker = tmp_path / "worker.pid"
    links = [http_server.route(f"/n/{s.slug}.html", page(s)) for s in STORIES * 2]
    links = [f"{u}?copy={i}" for i, u in enumerate(links)]
    http_server.route("/stall", page(AFGHAN_WORKERS))
    stalled = f"{http_server.url('/stall')}?marker={marker}"
    items = [(f"Story {i}", u, "Afghan migrants") for i, u in enumerate([*links[:3], stalled, *links[3:]])]
    http_server.route("/feed", rss_doc("Feed", items), headers=RSS_TYPE)
    world = make_world(http_server, tmp_path, ["/feed"], extract={"timeout": 120})

    async def go() -> tuple[CycleReport, int, CycleReport]:
        async with ExtractPool(world.cfg.extract, workers=2, extractor=faulty_extract) as pool:
            cycle = asyncio.create_task(
                run_cycle_async(world.cfg, world.engine, models=world.models, pool=pool)
            )
            killed = await _kill_when_marked(marker, pool.worker_pids)
            report = await cycle
            again = await run_cycle_async(world.cfg, world.engine, models=world.models, pool=pool)
            return report, killed, again

    report, killed, again = asyncio.run(go())
    assert not alive(killed)
    assert not report.errors and report.new_entries == len(items)
    stored = _stored(world)
    assert [link for link, _ in stored] == sorted(u for _, u, _ in items)  # each once
    # the page the worker died on was extracted again on a fresh worker, like every other one
    assert all(status == "ok" for _, status in stored), stored
    assert again.new_entries == 0 and not again.errors
    world.engine.dispose()


@pytest.mark.skipif(
    (os.cpu_count() or 1) < 2 or len(os.sched_getaffinity(0)) < 2,
    reason="the parsing helper runs only with two or more CPUs",
)
def test_the_parsing_helper_killed_mid_batch_the_cycle_completes(
    http_server: Server, tmp_path: Path
) -> None:
    marker = tmp_path / "helper.pid"
    stall = f"STALL:{marker}\n".encode() + rss_doc("S", [("Stalled one", "http://s.example/1", "x")])
    http_server.route("/stall.xml", stall, headers=RSS_TYPE)
    for name in ("a", "b"):  # these come a little later, when the helper already holds /stall.xml
        items = [(f"{name} {i}", f"http://{name}.example/{i}", "x") for i in range(3)]
        http_server.route(f"/{name}.xml", rss_doc(name, items), headers=RSS_TYPE, delay=0.7)
    world = make_world(
        http_server, tmp_path, ["/stall.xml", "/a.xml", "/b.xml"], extract={"fetch_articles": False}
    )

    async def go() -> tuple[CycleReport, int, CycleReport, int | None]:
        async with FeedParser(start_after=0, module="tests.faulty_parse_worker") as parser:
            await parser.parse(rss_doc("warm", []), "http://w.example/", None, {})
            for _ in range(200):  # the helper is up before the cycle starts
                if parser.pid is not None:
                    break
                await asyncio.sleep(0.05)
            cycle = asyncio.create_task(
                run_cycle_async(world.cfg, world.engine, models=world.models, parser=parser)
            )
            killed = await _kill_when_marked(marker, lambda: [parser.pid or 0])
            report = await cycle
            again = await run_cycle_async(world.cfg, world.engine, models=world.models, parser=parser)
            return report, killed, again, parser.pid

    report, killed, again, helper = asyncio.run(go())
    assert not alive(killed) and helper != killed
    by_feed = {f.feed: f for f in report.feeds}
    assert by_feed["feed 0"].status == "parse_error" and by_feed["feed 0"].new == 0
    assert (by_feed["feed 1"].new, by_feed["feed 2"].new) == (3, 3)  # nothing collateral
    # the next cycle recovers the feed whose document the helper died on
    by_feed = {f.feed: f for f in again.feeds}
    assert by_feed["feed 0"].status == "ok" and by_feed["feed 0"].new == 1 and not again.errors
    links = [link for link, _ in _stored(world)]
    assert sorted(links) == sorted(
        ["http://s.example/1", *(f"http://{n}.example/{i}" for n in "ab" for i in range(3))]
    )
    with world.engine.connect() as conn:
        failures = conn.execute(sa.select(schema.feeds.c.failures)).scalars().all()
    assert failures == [0, 0, 0]
    world.engine.dispose()
