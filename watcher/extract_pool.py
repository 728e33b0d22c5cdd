"""A small process pool for extraction: pages pipelined to each worker, a timeout per page.

trafilatura's own timeout only works from its command line, and ``ProcessPoolExecutor`` breaks
as a whole (``BrokenProcessPool``) when one worker dies.  Here each worker is a slot holding one
spawned process and one pipe, so a page that hangs is cut off precisely: its worker is killed
and replaced, the page is recorded as "timeout", and no other page is touched.  A worker that
dies (segfault, OOM killer, ``os._exit``) gets its page retried once on a fresh worker, then the
page is "failed".  Each slot has a thread here that takes pages straight from a shared queue and
keeps the next one waiting in its worker's pipe, so a worker never idles between pages; a page
waiting behind one that hangs or kills its worker is sent again to the fresh worker, never lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import multiprocessing
import os
import queue
import select
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnContext
from multiprocessing.process import BaseProcess
from types import TracebackType
from typing import NamedTuple

from .config import ExtractConfig
from .extract_worker import FIELDS, Extractor, Page, default_extractor, unpack, widen, worker_main
from .fallback import failed_article
from .models import Article

log = logging.getLogger(__name__)

# A worker imports trafilatura and warms up once; each page's timeout starts after that.
START_TIMEOUT = 60.0
# Pages per worker before a fresh one takes over: bounds slow leaks in a long-lived daemon.  A
# worker retires at the first lull past this (LULL seconds without a page), and at RETIRE_FACTOR
# times this even without one: a busy cycle does not pay a second of CPU for a successor in its
# last pages (issue 16: 2,000 pages over 2 workers did, in the tail).
RECYCLE_AFTER = 1000
RETIRE_FACTOR = 2
# Seconds without a page after which a worker past RECYCLE_AFTER retires (a daemon's pause between
# cycles).  A queue that runs dry for a moment inside a cycle is not a lull: retiring there cost a
# successor's start-up (~1 s of CPU) on saturated cores, in some runs of a 2,000-page cycle and
# not others (issue 16).
LULL = 1.0
# How often a slot thread waiting on its worker looks for the next page to pipeline (seconds).
_PREFETCH_EVERY = 0.01


class _Task(NamedTuple):
    html: bytes
    url: str
    content_type: str | None
    dated: bool
    future: Future[Article]


class _Slot:
    """One worker process at a time, replaced in place when it hangs or dies; used by one thread."""

    def __init__(
        self,
        ctx: SpawnContext,
        cfg: ExtractConfig,
        extractor: Extractor | None,
        recycle_after: int,
        lull: float = LULL,
    ) -> None:
        self._ctx, self._cfg, self._extractor = ctx, cfg, extractor
        self._recycle_after = recycle_after
        self._lull = lull
        self._lock = threading.Lock()
        self._closed = False
        self._busy = False
        self._ready = False
        self._done = 0  # pages answered by the current process
        self._retired = False  # the process served its pages and left; the next page starts one
        self.started = 0
        self._proc: BaseProcess
        self._conn: Connection
        self._poller: select.poll
        self._start()

    def _start(self) -> None:
        parent, child = self._ctx.Pipe(duplex=True)
        for end in (parent, child):
            widen(end)
        proc = self._ctx.Process(
            target=worker_main,
            args=(child, self._cfg, self._extractor),
            name="watcher-extract",
            daemon=True,
        )
        proc.start()
        child.close()
        # One poll object per pipe, for every wait on it: Connection.poll builds, registers and
        # closes a selector on each call (issue 16: a third of a slot thread's CPU per page).
        poller = select.poll()
        poller.register(parent.fileno(), select.POLLIN)
        self._poller = poller
        self._proc, self._conn, self._ready, self._done = proc, parent, False, 0
        self._retired = False
        self.started += 1

    @property
    def pid(self) -> int | None:
        """The worker's process id (a retired one's until the next page starts its successor)."""
        return self._proc.pid

    def _kill(self) -> int | None:
        if self._proc.is_alive():
            self._proc.kill()
        self._proc.join(5)
        self._conn.close()
        return self._proc.exitcode

    def _restart(self) -> int | None:
        with self._lock:
            code = self._kill()
            if not self._closed:
                self._start()
            return code

    def _recycle(self) -> None:
        """Retire the worker; its successor starts with the next page (``_revive``), so a cycle
        whose last pages retire a worker does not spend a second of CPU starting one it never
        uses (issue 16: with 1,000 pages a worker, a 2,000-page cycle did, on both slots)."""
        with self._lock:
            if self._closed:
                return
            with contextlib.suppress(OSError):
                self._conn.send(None)  # the old worker exits by itself; start() reaps it later
            self._conn.close()
            self._retired = True

    def _revive(self) -> None:
        with self._lock:
            if self._retired and not self._closed:
                self._start()

    def serve(self, tasks: queue.SimpleQueue[_Task | None]) -> None:
        """This slot's thread: take pages from the shared queue and keep the worker busy.

        Pipelining (issue 16): while the worker extracts one page, the next one is already in
        its pipe, so it starts that page the moment it sends a result back instead of idling
        while this thread wakes up, hands the result over and sends another.  A page's timeout
        runs from the moment its predecessor's result arrives, i.e. from when the worker starts
        it.  When a worker hangs or dies, the page queued behind it is sent again to the fresh
        worker: it is never collateral, and its one retry is not spent.
        """
        inflight: deque[_Task] = deque()
        stopping = False
        while True:
            if not inflight:
                if stopping or (task := self._next(tasks)) is None:
                    return
                if not task.future.set_running_or_notify_cancel():
                    continue  # the caller gave up before the page reached a worker
                with self._lock:
                    self._busy = True
                self._revive()
                inflight.append(task)
                self._send(task)

            def prefetch() -> bool:
                """Pipeline the next page if one is waiting; True when no more can go now."""
                nonlocal stopping
                if stopping or len(inflight) > 1:
                    return True
                if self._done + len(inflight) >= self._recycle_after * RETIRE_FACTOR:
                    return True  # this worker retires after the page in hand, lull or not
                with contextlib.suppress(queue.Empty):
                    nxt = tasks.get_nowait()
                    if nxt is None:
                        stopping = True
                    elif nxt.future.set_running_or_notify_cancel():
                        inflight.append(nxt)
                        self._send(nxt)
                return stopping or len(inflight) > 1

            head = inflight[0]
            try:
                article = self._finish(head, inflight, prefetch)
            except BaseException as e:  # a bug in the slot: hand it to the caller, keep serving
                inflight.popleft()
                head.future.set_exception(e)
            else:
                inflight.popleft()
                head.future.set_result(article)
            if not inflight:
                with self._lock:
                    self._busy = False
                    if self._closed:  # close() killed the worker under us and left the pipe to us
                        self._conn.close()

    def _next(self, tasks: queue.SimpleQueue[_Task | None]) -> _Task | None:
        """The next page; a worker past its page count that waits ``lull`` seconds for one
        retires first (its successor starts with the page that comes)."""
        if self._done >= self._recycle_after and not self._retired and self._lull > 0:
            try:
                return tasks.get(timeout=self._lull)
            except queue.Empty:
                self._recycle()
        return tasks.get()

    def _send(self, task: _Task) -> None:
        """A small pickled header, then the page's bytes as they are: pickling them into a
        message first copied every page once more (issue 16)."""
        with contextlib.suppress(OSError):  # a dead worker shows when its answer is awaited
            self._conn.send((task.url, task.content_type, task.dated))
            self._conn.send_bytes(task.html)

    def _wait(self, timeout: float) -> bool:
        """Whether the worker's pipe has something to read (an answer, or EOF: it died) within
        ``timeout`` seconds; a closed pipe counts as readable (its read then fails)."""
        if self._conn.closed:
            return True
        return bool(self._poller.poll(max(0, math.ceil(timeout * 1000))))

    def _finish(
        self, task: _Task, inflight: deque[_Task], prefetch: Callable[[], bool]
    ) -> Article:
        """Wait for the answer to ``task`` (the oldest page sent), retrying a death once."""
        url = task.url
        code: int | None = None
        for attempt in (1, 2):
            if self._closed:
                return failed_article(url, "failed", "extraction pool is closed")
            article = self._attempt(prefetch)
            if isinstance(article, Article):
                self._done += 1
                cap = self._recycle_after * (RETIRE_FACTOR if self._lull > 0 else 1)
                if self._done >= cap and len(inflight) == 1:
                    self._recycle()  # the hard cap, or lull=0: nothing waiting is the lull
                return article
            if article == "timeout":
                self._restart()
                self._resend(list(inflight)[1:])
                return failed_article(url, "timeout", f"extraction took longer than {self._cfg.timeout:g}s")
            code = self._restart()
            if attempt == 1:
                log.warning(
                    "extract worker died (exit code %s) on %s; retrying on a fresh one", code, url
                )
                self._resend(list(inflight))
        self._resend(list(inflight)[1:])
        return failed_article(url, "failed", f"extraction worker died (exit code {code})")

    def _resend(self, tasks: list[_Task]) -> None:
        if not self._closed:
            for task in tasks:
                self._send(task)

    def _attempt(self, prefetch: Callable[[], bool]) -> Article | str:
        conn = self._conn
        try:
            if not self._ready:
                if not self._wait(max(START_TIMEOUT, self._cfg.timeout)):
                    return "dead"
                conn.recv()  # ("ready", pid)
                self._ready = True
            deadline = time.monotonic() + self._cfg.timeout
            # Wake every _PREFETCH_EVERY only while the pipe has room for the next page: once it
            # holds one, the wait is a single poll to the deadline (no wake-ups for nothing).
            full = prefetch()
            while not self._wait(
                max(0.0, deadline - time.monotonic())
                if full
                else min(_PREFETCH_EVERY, max(0.0, deadline - time.monotonic()))
            ):
                if time.monotonic() >= deadline:
                    return "timeout"
                full = prefetch()
            prefetch()  # the next page is in the pipe before this result is handed over
            result = conn.recv()
        except (EOFError, OSError):
            return "dead"
        return unpack(result) if isinstance(result, tuple) and len(result) == FIELDS else "dead"

    def stop(self) -> None:
        """Tell the worker to stop (an idle one exits by itself, a busy one is killed); ``join``
        waits for it, so a pool tells all its workers before it waits for any (issue 16: one at
        a time, their exits added up in the tail of every cycle)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if not self._busy and self._proc.is_alive():
                try:
                    self._conn.send(None)
                except OSError:
                    pass
                else:
                    return  # join() gives it 2 s to exit by itself
            if self._proc.is_alive():
                self._proc.kill()

    def join(self) -> None:
        with self._lock:
            self._proc.join(2)
            if self._proc.is_alive():
                self._proc.kill()
            self._proc.join(5)
            if not self._busy:
                self._conn.close()


class ExtractPool:
    """Run an extractor in worker processes from asyncio, with a per-page wall-clock timeout.

    ``workers=None`` takes ``cfg.workers`` (0: one per core); ``workers=0`` extracts in this
    process, in a thread, for tiny runs and tests (a page past the timeout is reported as
    "timeout" but its thread cannot be killed).
    """

    def __init__(
        self,
        cfg: ExtractConfig,
        *,
        workers: int | None = None,
        extractor: Extractor | None = None,
        recycle_after: int = RECYCLE_AFTER,
        lull: float = LULL,
    ) -> None:
        self.cfg = cfg
        self._recycle_after = max(1, recycle_after)
        self._lull = lull  # seconds without a page before a worker past recycle_after retires
        self.size = (cfg.workers or cpu_count()) if workers is None else workers
        self._extractor = extractor  # None: extract.extract_article, imported by the workers only
        self._slots: list[_Slot] = []
        self._threads: list[threading.Thread] = []
        self._tasks: queue.SimpleQueue[_Task | None] = queue.SimpleQueue()
        self._inproc: ThreadPoolExecutor | None = None
        self._inproc_lock = asyncio.Lock()
        self._open = False

    async def __aenter__(self) -> ExtractPool:
        if self.size == 0:
            self._inproc = ThreadPoolExecutor(1, thread_name_prefix="watcher-extract")
        self._open = True
        return self

    def start(self) -> None:
        """Start the workers now, if they are not running (else the first page starts them).

        A cycle calls this when the first feed brings new entries, or at its start when it polls a
        feed never polled before (issue 16): the workers spawn, import and warm up while the pages
        are fetched, instead of after the first one arrived.  A cycle of known feeds that bring
        nothing new never calls it, so it never pays for them.
        """
        if not self._open:
            raise RuntimeError("ExtractPool is used outside 'async with'")
        if self.size > 0 and not self._slots:
            self._start_workers()

    def _start_workers(self) -> None:
        ctx = multiprocessing.get_context("spawn")  # no fork: the parent runs threads
        for i in range(self.size):
            slot = _Slot(ctx, self.cfg, self._extractor, self._recycle_after, self._lull)
            thread = threading.Thread(
                target=slot.serve, args=(self._tasks,), name=f"watcher-extract-{i}", daemon=True
            )
            thread.start()
            self._slots.append(slot)
            self._threads.append(thread)
        log.debug("extract pool: %d worker(s)", self.size)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.close)

    def close(self) -> None:
        """Stop every worker, cancel pages not yet started, and end the slot threads."""
        self._open = False
        for slot in self._slots:
            slot.stop()
        for slot in self._slots:
            slot.join()
        with contextlib.suppress(queue.Empty):
            while True:
                task = self._tasks.get_nowait()
                if task is not None:
                    task.future.cancel()
        for _ in self._threads:
            self._tasks.put(None)
        for thread in self._threads:
            thread.join()
        if self._inproc is not None:
            self._inproc.shutdown(wait=False, cancel_futures=True)
        self._slots.clear()
        self._threads.clear()

    @property
    def restarts(self) -> int:
        """Workers started to replace one that hung, died or was recycled."""
        return sum(slot.started - 1 for slot in self._slots)

    def worker_pids(self) -> list[int]:
        """Process ids of the current workers (empty in in-process mode)."""
        return [pid for slot in self._slots if (pid := slot.pid) is not None]

    async def extract(
        self, html: bytes, url: str, content_type: str | None = None, *, dated: bool = False
    ) -> Article:
        """Extract one page; a hang, a crash or a hostile page comes back as Article.status.

        ``dated``: the feed entry has its own date, so the page's is not searched.
        """
        if not self._open:
            raise RuntimeError("ExtractPool is used outside 'async with'")
        if len(html) > self.cfg.max_html_bytes:  # not worth shipping to a worker
            return failed_article(
                url, "too_large", f"page is {len(html)} bytes, over {self.cfg.max_html_bytes}"
            )
        if self.size == 0:
            return await self._extract_here(html, url, content_type, dated)
        self.start()
        future: Future[Article] = Future()
        self._tasks.put(_Task(html, url, content_type, dated, future))
        return await asyncio.wrap_future(future)

    async def _extract_here(
        self, html: bytes, url: str, content_type: str | None, dated: bool
    ) -> Article:
        call = functools.partial(
            self._extractor or default_extractor(),
            html,
            url,
            cfg=self.cfg,
            content_type=content_type,
            dated=dated,
        )
        async with self._inproc_lock:  # one at a time, so the timeout does not count queueing
            assert self._inproc is not None
            future = asyncio.get_running_loop().run_in_executor(self._inproc, call)
            try:
                return await asyncio.wait_for(future, self.cfg.timeout)
            except TimeoutError:
                # Abandon the runaway thread (it cannot be killed); new pages get a new one.
                self._inproc.shutdown(wait=False)
                self._inproc = ThreadPoolExecutor(1, thread_name_prefix="watcher-extract")
                return failed_article(url, "timeout", f"extraction took longer than {self.cfg.timeout:g}s")


def cpu_count() -> int:
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def extract_many(
    cfg: ExtractConfig,
    pages: Iterable[Page],
    *,
    workers: int | None = None,
    extractor: Extractor | None = None,
) -> list[Article]:
    """Extract a batch synchronously through a pool (benchmarks, scripts); order is kept."""

    async def run() -> list[Article]:
        async with ExtractPool(cfg, workers=workers, extractor=extractor) as pool:
            return list(await asyncio.gather(*(pool.extract(h, u, c) for h, u, c in pages)))

    return asyncio.run(run())
