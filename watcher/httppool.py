"""The fetcher's connections: HTTP/1.1 connections (``http11``, h11) kept per origin, driven directly.

httpx's transport and httpcore's connection pool cost two thirds of the CPU of a conditional GET
that comes back 304 (issue 16): an ``httpx.Request`` and ``httpx.Response`` per request, the
pool's request queue, events and cancel shields, and AnyIO locks that yield to the event loop on
every uncontended acquire.  The fetcher needs none of it: its own per-host gate bounds the
requests in flight, and a connection is used by one request at a time.  So each origin keeps a
list of idle ``http11.Http11`` connections (h11 still speaks HTTP/1.1: framing, keep-alive; the
connection checks staleness; httpcore's request layer on top of it was half the rest), new ones
are opened through the address-checking ``PinningBackend`` (every connection, to the address
actually connected to), and the pools of origins not used lately are closed once nothing is in flight on them.
"""

from __future__ import annotations

import ssl
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Protocol

import httpcore
import httpx

from .config import HttpConfig
from .http11 import HeaderCache, Http11
from .httpurl import Target

KEEPALIVE = 5.0  # seconds an idle connection is kept for the next request to its origin

Timeouts = dict[str, float | None]


class Reply:
    """One response: status, headers, the raw (undecoded) body as it arrives, and its close."""

    __slots__ = ("_chunks", "_close", "headers", "status")

    def __init__(
        self,
        status: int,
        headers: httpx.Headers,
        chunks: AsyncIterator[bytes],
        close: Callable[[], Awaitable[None]],
    ) -> None:
        self.status, self.headers, self._chunks, self._close = status, headers, chunks, close

    def chunks(self) -> AsyncIterator[bytes]:
        return self._chunks

    async def aclose(self) -> None:
        await self._close()


class Sender(Protocol):
    """What the fetcher sends its GETs through."""

    async def __aenter__(self) -> Any: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Any: ...

    async def send(self, url: Target, headers: list[tuple[bytes, bytes]], timeouts: Timeouts) -> Reply:
        """Send a GET; the caller reads the reply and closes it."""
        ...


class HttpxSender:
    """GETs through any httpx transport (``Fetcher(transport=...)``: a MockTransport in a test)."""

    def __init__(self, transport: httpx.AsyncBaseTransport) -> None:
        self._transport = transport

    async def __aenter__(self) -> HttpxSender:
        await self._transport.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._transport.__aexit__(exc_type, exc, tb)

    async def send(self, url: Target, headers: list[tuple[bytes, bytes]], timeouts: Timeouts) -> Reply:
        request = httpx.Request("GET", url.text, headers=headers, extensions={"timeout": timeouts})
        response = await self._transport.handle_async_request(request)
        response.request = request
        return Reply(response.status_code, response.headers, response.aiter_raw(), response.aclose)


def _fd_budget() -> int:
    """Half the soft limit on open files (the rest for the database, logs and listening sockets)."""
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        soft = 65536
    return min(soft, 65536) // 2


@dataclass
class _Origin:
    """One origin's idle connections, and how many of its responses are out."""

    last_used: float
    idle: list[Http11] = field(default_factory=list)
    active: int = 0

    async def aclose(self) -> None:
        idle, self.idle = self.idle, []
        for conn in idle:
            await conn.aclose()


class OriginPools:
    """Idle connections per origin; at most ``max_pools`` origins keep theirs.

    httpcore's single pool scanned every connection on each request, O(requests x connections)
    over hundreds of hosts; per origin it is O(per-host limit).
    """

    def __init__(self, cfg: HttpConfig, backend: httpcore.AsyncNetworkBackend) -> None:
        self._cfg, self._backend = cfg, backend
        # Loading the CA bundle takes ~100 ms: done when the first https origin needs it, so a
        # cycle over plain-http feeds (and every 304 re-poll of them) never pays for it.
        self._verified: ssl.SSLContext | None = None
        # Enough to keep connections alive across min_host_gap for a few hundred hosts; each idle
        # pool holds at most per_host_concurrency sockets, and none past the keep-alive expiry.
        # Past that, as many as half the process's file descriptors allow: a re-poll of 500 hosts
        # then reuses each host's connection for its next feed instead of reconnecting (issue 16).
        self.max_pools = max(256, 4 * cfg.concurrency, _fd_budget() // (2 * cfg.per_host_concurrency))
        self._pools: OrderedDict[tuple[bytes, bytes, int], _Origin] = OrderedDict()
        self._headers = HeaderCache()  # request headers validated once per set (issue 16)

    async def __aenter__(self) -> OriginPools:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def send(self, url: Target, headers: list[tuple[bytes, bytes]], timeouts: Timeouts) -> Reply:
        scheme = url.raw_scheme
        port = url.port or (443 if scheme == b"https" else 80)
        key = (scheme, url.raw_host, port)
        pool = self._pools.get(key)
        now = time.monotonic()
        if pool is None:
            pool = self._pools[key] = _Origin(now)
        else:
            self._pools.move_to_end(key)
            pool.last_used = now
        pool.active += 1
        try:
            await self._evict()
            conn = await self._connection(pool, key, timeouts)
            status, raw = await conn.get(url.raw_path, [(b"Host", url.netloc), *headers], timeouts)
        except BaseException:
            pool.active -= 1
            raise
        done = False

        async def close() -> None:
            nonlocal done
            if done:
                return
            done = True
            try:
                await conn.release()  # idle when the exchange completed, else closed
            finally:
                pool.active -= 1
                pool.last_used = time.monotonic()
                if conn.is_idle() and self._pools.get(key) is pool:
                    pool.idle.append(conn)
                elif not conn.is_closed():
                    await conn.aclose()

        return Reply(status, httpx.Headers(raw), conn.body(timeouts), close)

    async def _connection(
        self, pool: _Origin, origin: tuple[bytes, bytes, int], timeouts: Timeouts
    ) -> Http11:
        """An idle live connection of the origin, else a new one (through the address guard)."""
        while pool.idle:
            conn = pool.idle.pop()
            if conn.is_idle() and not conn.has_expired():  # expiry, or the server closed it
                return conn
            await conn.aclose()
        scheme, raw_host, port = origin
        host = raw_host.decode("ascii")
        connect = timeouts.get("connect")
        stream = await self._backend.connect_tcp(host, port, timeout=connect)
        if scheme == b"https":
            try:
                stream = await stream.start_tls(self._ssl(), server_hostname=host, timeout=connect)
            except BaseException:
                await stream.aclose()
                raise
        return Http11(stream, KEEPALIVE, self._headers)

    def _ssl(self) -> ssl.SSLContext:
        if self._verified is None:
            self._verified = httpx.create_ssl_context(trust_env=False)
            self._verified.set_alpn_protocols(["http/1.1"])
        return self._verified

    async def _evict(self) -> None:
        """Close least recently used pools with nothing in flight: those past the keep-alive
        expiry (their connections are dead weight), and any beyond max_pools."""
        now = time.monotonic()
        excess = len(self._pools) - self.max_pools
        doomed: list[tuple[bytes, bytes, int]] = []
        for key, pool in self._pools.items():  # least recently used first
            if now - pool.last_used <= KEEPALIVE and excess <= len(doomed):
                break  # the rest were used more recently
            if not pool.active:
                doomed.append(key)
        closing = [self._pools.pop(key) for key in doomed]  # all out of reach before any await
        for pool in closing:
            await pool.aclose()

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), OrderedDict()
        for pool in pools:
            await pool.aclose()
