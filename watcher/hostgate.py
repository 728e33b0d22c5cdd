"""The fleet's per-host gap (issue 13): request starts to one host reserved in the database.

Each worker keeps its own per-host semaphore and gap (``http.Fetcher``); with several workers on one
PostgreSQL that gap alone would let a host see one request per gap *per worker*.  ``FleetGate``
hands the Fetcher a wait taken from the shared ``hosts`` table instead (``store.workers``), so the
whole fleet starts at most one request to a host every ``http.min_host_gap`` seconds.

Concurrency (issue 13b): ``gate.slot(host, limit, lease)`` holds one of the host's ``limit`` rows in
``host_slots`` while a request is in flight, so the whole fleet has at most
``http.per_host_concurrency`` requests in flight to a host.  Leased rows rather than advisory
locks: a session-level advisory lock needs its connection held for the whole request (one
connection per request in flight, or one shared session whose locks are re-entrant and so cannot
count a worker's own requests), while a leased row costs two short round trips on the pool and
frees itself when a killed worker's lease (the Fetcher's cap on one hop, plus a margin) is past.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from types import TracebackType

import sqlalchemy as sa

from .store import workers as store_workers

THREADS = 4  # database round trips in flight at once (the engine's pool holds 5)
RETRY_FIRST = 0.02  # seconds before asking again for a slot when all were held; doubles ...
RETRY_MAX = 0.25  # ... up to this


class FleetGate:
    """``await gate(host, gap)`` -> seconds this request must wait before it starts."""

    def __init__(self, engine: sa.Engine, owner: str | None = None) -> None:
        self.engine = engine
        # Each call is one statement: autocommit spares the BEGIN and COMMIT round trips.
        self._auto = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.owner = owner or store_workers.new_worker_id()
        self.slots_waited = 0  # times a request found all of its host's slots held
        self._pool = ThreadPoolExecutor(THREADS, thread_name_prefix="watcher-hostgate")

    def _reserve(self, host: str, gap: float) -> float:
        with self._auto.connect() as conn:
            return store_workers.reserve_host(conn, host.lower(), gap)

    async def __call__(self, host: str, gap: float) -> float:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._reserve, host, gap)

    def take_now(self, host: str, limit: int, lease: float) -> int | None:
        """One try for a slot, blocking (a database round trip); None when all are held."""
        with self._auto.connect() as conn:
            return store_workers.take_host_slot(conn, host.lower(), limit, self.owner, lease)

    def release_now(self, host: str, slot: int) -> None:
        with self._auto.connect() as conn:
            store_workers.release_host_slot(conn, host.lower(), slot, self.owner)

    @asynccontextmanager
    async def slot(self, host: str, limit: int, lease: float) -> AsyncIterator[int]:
        """Hold one of ``host``'s ``limit`` fleet-wide slots (leased ``lease`` seconds) meanwhile."""
        loop = asyncio.get_running_loop()
        wait = RETRY_FIRST
        while True:
            got = await loop.run_in_executor(self._pool, self.take_now, host, limit, lease)
            if got is not None:
                break
            self.slots_waited += 1
            await asyncio.sleep(wait * random.uniform(0.5, 1.5))  # jitter, not secrets
            wait = min(wait * 2, RETRY_MAX)
        try:
            yield got
        finally:
            # Shielded: a cancelled request still gives its slot back (else it waits out the lease).
            await asyncio.shield(loop.run_in_executor(self._pool, self.release_now, host, got))

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> FleetGate:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def for_engine(engine: sa.Engine, min_host_gap: float) -> FleetGate | None:
    """A gate shared through the database when workers may share it (PostgreSQL): the host's
    concurrency always, its gap when ``min_host_gap`` is set.  SQLite (one daemon): None, and the
    Fetcher keeps both limits in process."""
    del min_host_gap  # the Fetcher asks for the gap only when one is set
    if engine.dialect.name != "postgresql":
        return None
    return FleetGate(engine)
