"""Parse feed documents in a helper process, off the event loop; both ends of the pipe.

Parsing a feed and building its entries is a quarter of a first poll's CPU.  ``FeedParser`` sends
documents to one helper process (``python -m watcher.parse_worker``) over its stdin/stdout as
length-prefixed pickles and reads the ``ParsedFeed`` answers on the event loop: no threads, so the
answers do not wait for the GIL, and 1 MiB pipes, so neither side waits for the other.  Before the
helper is up (it starts after ``start_after`` documents: small cycles never pay for it), when more
than ``in_flight`` bytes await answers, or when it is off (one core, ``parse_helper = false``),
documents are parsed right here: the same pure function.

A document that hangs the helper past the timeout, or kills it, comes back as a PARSE_ERROR for
that feed; the other documents it held are parsed here; the next document starts a fresh helper.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import fcntl
import logging
import os
import pickle
import signal
import struct
import sys
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from .config import ExtractConfig
from .extract_pool import cpu_count
from .models import FetchStatus, ParsedFeed

log = logging.getLogger(__name__)

_HEAD = struct.Struct("!I")
# Answers the event loop has not read yet: the helper must not stall on a full pipe meanwhile.
_BUFFER = 4 * 1024 * 1024
Job = tuple[bytes, str, str | None, dict[str, str]]  # body, url, content type, response headers
# Documents still to come below which a one-cycle run does not start the helper: its start-up
# (an interpreter, feedparser and lxml: ~0.2 s of CPU) costs about what parsing ~100 feeds of 20
# entries costs here, and a run that polls fewer is over before the helper would pay (issue 16).
START_REMAINING = 128


def parse_job(job: Job) -> ParsedFeed:
    from .feeds import parse_feed  # feedparser and lxml: not for a cycle of 304s (issue 16)

    body, url, content_type, headers = job
    return parse_feed(body, url=url, content_type=content_type, headers=headers)


class FeedParser:
    """``await parse(...)`` a feed document on the helper process when it is free, else here."""

    def __init__(
        self,
        *,
        timeout: float = 20.0,
        enabled: bool = True,
        in_flight: int = 32 * 1024 * 1024,
        start_after: int = 8,
        start_remaining: int = START_REMAINING,
        module: str = "watcher.parse_worker",  # what the helper runs (tests pass a faulty one)
    ) -> None:
        self.timeout = timeout
        self.module = module
        self.enabled = enabled and cpu_count() > 1
        self.in_flight = in_flight  # bytes of documents sent and not answered yet, at most
        self._in_flight = 0
        self._head_since = 0.0  # when the helper took the document at the head of the queue
        # Documents parsed here before the helper starts: a cycle of a few changed feeds (most
        # daemon ticks) never pays for a process; a big one, or a long-lived daemon, does.
        self.start_after = start_after
        # With ``expect(n)`` (a one-cycle run): the helper starts only while at least this many
        # documents may still come; fewer are parsed here for less CPU than its start-up costs.
        self.start_remaining = start_remaining
        self._expected: int | None = None  # documents this run may still hand over (None: unknown)
        self.parsed_here = 0
        self.sent = 0  # documents the helper parsed (tests, benchmarks)
        self.restarts = 0
        self.launches = 0  # helper processes started
        self._proc: asyncio.subprocess.Process | None = None
        self._starting: asyncio.Task[None] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._reaping: set[asyncio.Task[None]] = set()
        self._pending: collections.deque[tuple[asyncio.Future[ParsedFeed], Job]] = (
            collections.deque()
        )

    async def __aenter__(self) -> FeedParser:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def expect(self, documents: int) -> None:
        """This run hands over at most ``documents`` more documents (``watcher fetch``: one per
        claimed feed).  A helper whose start-up would cost more CPU than the parsing it could take
        over is then not started (issue 16: 100 feeds paid ~0.2 s of CPU for a helper that took a
        few of them); a daemon, whose helper outlives the cycle, does not call this."""
        self._expected = documents

    @property
    def started(self) -> bool:
        """Whether a helper process was ever started (a cycle of 304s never starts one)."""
        return self.launches > 0

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._reader is not None else None

    async def parse(
        self, body: bytes, url: str, content_type: str | None, headers: dict[str, str]
    ) -> ParsedFeed:
        job: Job = (body, url, content_type, headers)
        if self._expected is not None:
            self._expected -= 1
        if self.enabled and self._reader is not None and self._in_flight < self.in_flight:
            return await self._remote(job)
        if (
            self.enabled
            and self._proc is None
            and self._starting is None
            and self.parsed_here >= self.start_after
            and (self._expected is None or self._expected >= self.start_remaining)
        ):
            self._starting = asyncio.create_task(self._start())  # warms up while we parse here
        self.parsed_here += 1
        return parse_job(job)

    async def _start(self) -> None:
        self.launches += 1
        env = dict(os.environ)
        root = str(Path(__file__).resolve().parents[1])  # watcher importable from a source tree too
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                self.module,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL,
                env=env,
                limit=_BUFFER,
            )
            self._proc = proc
            assert proc.stdout is not None
            ready = await asyncio.wait_for(proc.stdout.readexactly(_HEAD.size), 60)
            if _HEAD.unpack(ready)[0] != 0:
                raise OSError("it did not say it was ready")
        except (OSError, TimeoutError, asyncio.IncompleteReadError) as e:
            log.warning("feed parser helper did not start (%s); parsing in this process", e)
            self.enabled = False
            await self._stop()
            return
        finally:
            self._starting = None
        self._reader = asyncio.create_task(self._read(proc))

    async def _remote(self, job: Job) -> ParsedFeed:
        proc = self._proc
        assert proc is not None and proc.stdin is not None
        future: asyncio.Future[ParsedFeed] = asyncio.get_running_loop().create_future()
        if not self._pending:
            self._head_since = asyncio.get_running_loop().time()
        self._pending.append((future, job))
        data = pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL)
        self._in_flight += len(data)
        try:
            proc.stdin.write(_HEAD.pack(len(data)) + data)
            await proc.stdin.drain()
        except (ConnectionError, RuntimeError):
            pass  # the reader sees it die and answers every pending document
        self.sent += 1
        loop = asyncio.get_running_loop()
        try:
            while True:
                try:
                    return await asyncio.wait_for(asyncio.shield(future), self.timeout)
                except TimeoutError:
                    # The clock that counts is the document the helper is on (the queue's head).
                    if not future.done() and loop.time() - self._head_since >= self.timeout:
                        self._lost(f"parsing took longer than {self.timeout:g}s")
        finally:
            self._in_flight -= len(data)

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        try:
            while True:
                (size,) = _HEAD.unpack(await proc.stdout.readexactly(_HEAD.size))
                parsed = pickle.loads(await proc.stdout.readexactly(size))
                if self._pending:
                    future, _job = self._pending.popleft()
                    self._head_since = asyncio.get_running_loop().time()
                    if not future.done():
                        future.set_result(parsed)
        except (asyncio.IncompleteReadError, ConnectionError):  # its output ended: it died
            if self._proc is proc:  # not a kill of ours
                code = await proc.wait()
                if self._proc is proc:  # and still ours once it is reaped
                    self._lost(f"the feed parser died (exit code {code})")
        except Exception as e:  # an answer that does not unpickle: the helper is not to be trusted
            if self._proc is proc:
                self._lost(f"the feed parser sent an unreadable answer ({type(e).__name__})")

    def _lost(self, reason: str) -> None:
        """The helper hung or died: the document it was on fails, the others are parsed here."""
        proc, self._proc, self._reader = self._proc, None, None
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        if proc is not None:
            self._reaping.add(asyncio.get_running_loop().create_task(_end(proc)))
        self.restarts += 1
        pending, self._pending = self._pending, collections.deque()
        culprit = pending[0][0] if pending else None  # the document the helper was on
        log.warning("feed parser helper: %s; starting a fresh one", reason)
        for future, job in pending:
            if not future.done():
                failed = ParsedFeed(FetchStatus.PARSE_ERROR, error=reason)
                future.set_result(failed if future is culprit else parse_job(job))

    async def close(self) -> None:
        """Stop the helper (politely: end of input) and answer anything still pending here."""
        if self._starting is not None:
            self._starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._starting
        for future, job in self._pending:
            if not future.done():
                future.set_result(parse_job(job))
        self._pending.clear()
        await self._stop()
        if self._reaping:
            await asyncio.gather(*self._reaping, return_exceptions=True)
            self._reaping.clear()

    async def _stop(self) -> None:
        proc, reader, self._proc, self._reader = self._proc, self._reader, None, None
        if proc is None:
            return
        await _end(proc)
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader

    @classmethod
    def for_config(cls, cfg: ExtractConfig) -> FeedParser:
        """The parser a cycle or the daemon uses: the extraction timeout, on unless turned off."""
        return cls(timeout=cfg.timeout, enabled=cfg.parse_helper)


async def _end(proc: asyncio.subprocess.Process) -> None:
    """End a helper: end of input first, a kill if it has not gone 5 s later; reap it."""
    if proc.stdin is not None and not proc.stdin.is_closing():
        proc.stdin.close()
    try:
        await asyncio.wait_for(proc.wait(), 5)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()


def main(parse: Callable[[Job], ParsedFeed] = parse_job) -> None:
    """The helper's side: read a document, write its ParsedFeed, until end of input."""
    # Ctrl-C and a service manager's SIGTERM are the parent's to handle: it answers what it holds
    # and closes our input, which ends this loop (also when the parent is killed outright).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.getLogger().addHandler(logging.NullHandler())
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing a library prints may corrupt the answers
    for pipe in (stdin, stdout):  # Linux: 1 MiB pipes, so that neither side waits on the other
        with contextlib.suppress(AttributeError, OSError):
            fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, 1024 * 1024)
    stdout.write(_HEAD.pack(0))  # ready
    stdout.flush()
    while True:
        head = stdin.read(_HEAD.size)
        if len(head) < _HEAD.size:
            return
        (size,) = _HEAD.unpack(head)
        job: Job = pickle.loads(stdin.read(size))
        try:
            parsed = parse(job)
        except Exception as e:  # a parser bug: that feed's error, not the helper's end
            parsed = ParsedFeed(FetchStatus.PARSE_ERROR, error=f"internal error: {type(e).__name__}: {e}")
        data = pickle.dumps(parsed, protocol=pickle.HIGHEST_PROTOCOL)
        stdout.write(_HEAD.pack(len(data)) + data)
        stdout.flush()


if __name__ == "__main__":
    main()
