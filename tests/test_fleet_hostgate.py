"""Issue 13: the host gap holds for the whole fleet.  Two Fetchers, each with its own engine on one
PostgreSQL (two workers), ask one host at once; the server sees the request starts a gap apart.
Without the shared gate each would keep the gap on its own and the host would see twice the rate.
Issue 13b: the same for a host's concurrency (requests in flight), and a SIGKILLed worker's slot."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import sqlalchemy as sa

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


# ---- issue 13b: a host's concurrency held by the whole fleet ----------------------------------------
LIMIT = 2
HOLD = 0.15  # seconds the server keeps each request open


class _InFlight:
    """A raw handler that counts requests in flight at once and remembers the most."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.most = 0
        self.stamps: list[float] = []

    def __call__(self, h: BaseHTTPRequestHandler) -> None:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
            self.stamps.append(time.monotonic())
        try:
            time.sleep(HOLD)
            h.send_response(200)
            h.send_header("Content-Length", "2")
            h.end_headers()
            h.wfile.write(b"ok")
        finally:
            with self.lock:
                self.now -= 1


async def _slot_worker(base: str, db: str, agent: str, shared: bool) -> None:
    engine = store.open_db(db)
    gate = hostgate.for_engine(engine, 0.0) if shared else None
    try:
        cfg = http_cfg(per_host_concurrency=LIMIT, concurrency=16, user_agent=agent)
        async with Fetcher(cfg, host_slots=gate) as fetcher:
            results = await asyncio.gather(*(fetcher.get(f"{base}/{agent}/{i}") for i in range(EACH)))
        assert [r.http_status for r in results] == [200] * EACH
    finally:
        if gate is not None:
            gate.close()
        engine.dispose()


def _in_flight(server: Server, db: str, shared: bool, workers: int) -> _InFlight:
    seen = _InFlight()
    run = f"slots-{shared}"
    for w in range(workers):
        for i in range(EACH):
            server.raw[f"/{run}/w{w}/{i}"] = seen

    async def fleet() -> None:
        await asyncio.gather(
            *(_slot_worker(server.url(f"/{run}"), db, f"w{w}", shared) for w in range(workers))
        )

    asyncio.run(fleet())
    assert len(seen.stamps) == workers * EACH
    return seen


def test_three_workers_keep_one_concurrency_between_them(pg_url: str, http_server: Server) -> None:
    store.open_db(pg_url).dispose()  # migrate once, before the workers open it together
    fleet = _in_flight(http_server, pg_url, True, 3)
    assert fleet.most <= LIMIT, fleet.most
    assert fleet.most == LIMIT  # the slots are used, not just serialised
    # The control: each worker alone keeps its own limit, so the host sees more at once.
    alone = _in_flight(http_server, pg_url, False, 3)
    assert alone.most > LIMIT, alone.most
    with store.open_db(pg_url).begin() as conn:  # every slot was given back after its response
        assert conn.execute(sa.text("SELECT count(*) FROM host_slots")).scalar_one() == 0


_HOLDER = """
import asyncio, sys
from watcher import hostgate, store
engine = store.open_db(sys.argv[1])
gate = hostgate.FleetGate(engine)
async def main() -> None:
    async with gate.slot("127.0.0.1", 1, float(sys.argv[2])):
        print("held", flush=True)
        await asyncio.sleep(120)
asyncio.run(main())
"""


def test_a_killed_worker_blocks_the_host_only_until_its_lease_is_past(
    pg_url: str, http_server: Server
) -> None:
    lease = 2.0
    store.open_db(pg_url).dispose()
    seen = _InFlight()
    http_server.raw["/after-kill"] = seen
    with subprocess.Popen(
        [sys.executable, "-c", _HOLDER, pg_url, str(lease)], stdout=subprocess.PIPE, text=True
    ) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
            held_at = time.monotonic()
        finally:
            os.kill(holder.pid, signal.SIGKILL)
            holder.wait(timeout=10)
    assert holder.returncode == -signal.SIGKILL

    async def ask() -> int | None:
        engine = store.open_db(pg_url)
        try:
            with hostgate.FleetGate(engine) as gate:
                async with Fetcher(http_cfg(per_host_concurrency=1), host_slots=gate) as fetcher:
                    return (await fetcher.get(http_server.url("/after-kill"))).http_status
        finally:
            engine.dispose()

    assert asyncio.run(ask()) == 200
    waited = seen.stamps[0] - held_at
    assert waited >= lease * 0.8, waited  # the dead worker's slot held the host ...
    assert waited <= lease + 3.0, waited  # ... but not beyond its lease


def test_the_gate_is_for_postgresql_only_and_holds_concurrency_without_a_gap(
    pg_url: str, tmp_path: Path
) -> None:
    lite = store.open_db(f"sqlite:///{tmp_path / 'seen.db'}")
    pg = store.open_db(pg_url)
    try:
        assert hostgate.for_engine(lite, 0.25) is None  # one daemon: the Fetcher keeps both limits
        gate = hostgate.for_engine(pg, 0.0)
        assert gate is not None
        with gate:
            taken = [gate.take_now("Example.org", 2, 60.0) for _ in range(3)]
            assert sorted(s for s in taken if s is not None) == [0, 1] and taken.count(None) == 1
            gate.release_now("example.org", 0)
            assert gate.take_now("example.org", 2, 60.0) == 0
    finally:
        lite.dispose()
        pg.dispose()
