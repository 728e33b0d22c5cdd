"""Issue 13: the host gap holds for the whole fleet.  Two Fetchers, each with its own engine on one
PostgreSQL (two workers), ask one host at once; the server sees the request starts a gap apart.
Without the shared gate each would keep the gap on its own and the host would see twice the rate."""

from __future__ import annotations

import asyncio
import itertools
import time
from http.server import BaseHTTPRequestHandler

from tests.http_helpers import http_cfg
from tests.server import Server
from watcher import hostgate, store
from watcher.http import Fetcher

GAP = 0.15
EACH = 6


async def _worker(url_base: str, db: str, agent: str, shared: bool) -> None:
    engine = store.open_db(db)
    gate = hostgate.for_engine(engine, GAP) if shared else None
    try:
        cfg = http_cfg(min_host_gap=GAP, per_host_concurrency=4, user_agent=agent)
        async with Fetcher(cfg, host_slots=gate) as fetcher:
            results = await asyncio.gather(*(fetcher.get(f"{url_base}/{agent}/{i}") for i in range(EACH)))
        assert all(r.http_status == 200 for r in results)
    finally:
        if gate is not None:
            gate.close()
        engine.dispose()


def _fleet(server: Server, db: str, run: str, shared: bool, stamps: list[tuple[float, str]]) -> list[float]:
    async def both() -> None:
        await asyncio.gather(
            _worker(server.url(f"/{run}"), db, "w1", shared),
            _worker(server.url(f"/{run}"), db, "w2", shared),
        )

    asyncio.run(both())
    return sorted(t for t, path in stamps if path.startswith(f"/{run}/"))


def test_two_workers_keep_one_gap_between_them(pg_url: str, http_server: Server) -> None:
    stamps: list[tuple[float, str]] = []

    def stamp(h: BaseHTTPRequestHandler) -> None:
        stamps.append((time.monotonic(), h.path))
        h.send_response(200)
        h.send_header("Content-Length", "2")
        h.end_headers()
        h.wfile.write(b"ok")

    for run in ("shared", "alone"):
        for agent in ("w1", "w2"):
            for i in range(EACH):
                http_server.raw[f"/{run}/{agent}/{i}"] = stamp
    shared = _fleet(http_server, pg_url, "shared", True, stamps)
    alone = _fleet(http_server, pg_url, "alone", False, stamps)
    assert len(shared) == len(alone) == 2 * EACH
    gaps = [b - a for a, b in itertools.pairwise(shared)]
    assert min(gaps) >= GAP * 0.6, gaps  # the fleet: one start per gap (scheduling noise allowed)
    assert shared[-1] - shared[0] >= (2 * EACH - 1) * GAP * 0.9
    # The control: each worker alone keeps its own gap, so the host sees starts closer together.
    assert alone[-1] - alone[0] < (2 * EACH - 1) * GAP * 0.75
