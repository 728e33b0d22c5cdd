"""One thread that runs a cycle's database calls in order, so the event loop never waits on them.

A concurrent ``watcher digest`` holding SQLite's write lock, or a slow disk, used to stall every
fetch of a cycle for up to the 30 s busy timeout, because the transactions ran on the event loop
(issue 16).  Here each call is queued to a single thread (so the calls still run one at a time,
in the order they were made, as the store expects) and the coroutine that made it awaits the
answer; fetches, parsing and extraction go on meanwhile.  ``submit`` queues a call whose answer
nobody awaits now (a batch of feed states); ``drain`` waits for those and raises the first error.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import Any, TypeVar

T = TypeVar("T")


class DbThread:
    """``await db.run(fn, *args)``: ``fn(*args)`` on the database thread."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="watcher-db")
        self._pending: list[Future[Any]] = []
        self.calls = 0

    async def __aenter__(self) -> DbThread:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Whatever is queued still runs (a state batch must not be lost), off the event loop.
        await asyncio.to_thread(self._executor.shutdown, True)

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        self.calls += 1
        call = functools.partial(fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self.calls += 1
        self._pending.append(self._executor.submit(fn, *args, **kwargs))

    async def drain(self) -> None:
        pending, self._pending = self._pending, []
        for future in pending:
            await asyncio.wrap_future(future)
