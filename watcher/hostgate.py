"""The fleet's per-host gap (issue 13): request starts to one host reserved in the database.

Each worker keeps its own per-host semaphore and gap (``http.Fetcher``); with several workers on one
PostgreSQL that gap alone would let a host see one request per gap *per worker*.  ``FleetGate``
hands the Fetcher a wait taken from the shared ``hosts`` table instead (``store.workers``), so the
whole fleet starts at most one request to a host every ``http.min_host_gap`` seconds.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType

import sqlalchemy as sa

from .store import workers as store_workers

THREADS = 4  # database round trips in flight at once (the engine's pool holds 5)


class FleetGate:
    """``await gate(host, gap)`` -> seconds this request must wait before it starts."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._pool = ThreadPoolExecutor(THREADS, thread_name_prefix="watcher-hostgate")

    def _reserve(self, host: str, gap: float) -> float:
        with self.engine.begin() as conn:
            return store_workers.reserve_host(conn, host.lower(), gap)

    async def __call__(self, host: str, gap: float) -> float:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._reserve, host, gap)

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
    """A gate shared through the database when workers may share it (PostgreSQL) and a gap is set."""
    if engine.dialect.name != "postgresql" or min_host_gap <= 0:
        return None
    return FleetGate(engine)
