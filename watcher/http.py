"""The one httpx client: limits, timeouts, size cap, address policy, redirects, conditional GET.

``Fetcher.get`` never raises for network or HTTP trouble: every outcome is a ``FetchResult`` with a
``FetchStatus`` and, for failures, a one-line ``error``.  Redirects are followed hop by hop so the
address policy (``watcher.netpolicy``) is checked on every hop.  Connections go to the address that
was checked (a pinning network backend), so a DNS answer cannot change between check and connect.
Bodies are decoded here (gzip, deflate, br) with the size cap applied to the *decoded* bytes, so a
compression bomb stops at ``max_bytes``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from types import TracebackType
from typing import Protocol

import httpcore
import httpx

from .bodies import BodyDecoder, DecodeError, UnsupportedEncoding, parse_retry_after
from .config import HttpConfig
from .httppool import HttpxSender, OriginPools, Reply, Sender
from .httpurl import Target
from .httpurl import parse as parse_url
from .models import SUCCESS, WITH_BODY, FetchResult, FetchStatus
from .netpolicy import AddressBlocked, PinningBackend, Resolver, check_address

__all__ = ["FEED_ACCEPT", "HTML_ACCEPT", "Fetcher", "check_address"]

log = logging.getLogger(__name__)

FEED_ACCEPT = (
    "application/atom+xml, application/rss+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.1"
)
HTML_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
ACCEPT_ENCODING = "gzip, deflate, br"  # only what BodyDecoder can bound; never zstd
REDIRECTS = frozenset({301, 302, 303, 307, 308})
PERMANENT = frozenset({301, 308})
_CHUNK = 64 * 1024
# Transport trouble, as httpx (an injected transport) or httpcore (the origin pools) raises it.
_TRANSPORT_ERRORS = (
    httpx.TransportError, httpcore.NetworkError, httpcore.ProtocolError,
    httpcore.UnsupportedProtocol, httpcore.ProxyError, OSError,
)  # fmt: skip
_TIMEOUTS = (httpx.TimeoutException, httpcore.TimeoutException, TimeoutError)


@dataclass
class _HostGate:
    """Per-host limits: a semaphore, the earliest next start, and the in-flight count."""

    sem: asyncio.Semaphore
    next_start: float = 0.0
    active: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class HostSlots(Protocol):
    """A fleet's shared per-host limits (hostgate.FleetGate, issue 13): the gap and the concurrency."""

    async def __call__(self, host: str, gap: float) -> float:
        """Seconds this request must wait before it starts."""
        ...

    def slot(self, host: str, limit: int, lease: float) -> AbstractAsyncContextManager[object]:
        """Held while a request to ``host`` is in flight: one of ``limit`` for the whole fleet."""
        ...


@dataclass(frozen=True, slots=True)
class _Hop:
    """One response of a redirect chain."""

    code: int
    headers: httpx.Headers
    location: str | None = None
    body: bytes = b""
    too_large: bool = False


class _Fail(Exception):
    """An expected failure of one fetch, carried to ``get`` as a status and one line."""

    def __init__(self, status: FetchStatus, error: str, code: int | None = None) -> None:
        super().__init__(error)
        self.status, self.error, self.code = status, error, code


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    return text[:300]


class Fetcher:
    """Polite async HTTP GETs: global and per-host concurrency, per-host gap, capped bodies."""

    def __init__(
        self,
        cfg: HttpConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        resolver: Resolver | None = None,
        clock: Callable[[], datetime] | None = None,
        host_slots: HostSlots | None = None,
    ) -> None:
        self.cfg = cfg
        self._host_slots = host_slots  # a fleet's shared gap and concurrency (hostgate), issue 13
        self.bytes_received = 0
        self.max_host_concurrency_seen: dict[str, int] = {}
        self._clock = clock or (lambda: datetime.now(UTC))
        self._transport: Sender = (
            HttpxSender(transport)
            if transport is not None
            else OriginPools(cfg, PinningBackend(cfg, resolver))
        )
        self._open = False
        self._global: asyncio.Semaphore | None = None
        self._hosts: dict[str, _HostGate] = {}
        # No httpx.AsyncClient: its cookie, auth and redirect layers cost ~30% of a conditional GET
        # and are not wanted here (redirects are followed above); the headers are encoded once.
        self._base_headers = [
            (b"User-Agent", cfg.agent.encode()),
            (b"Accept-Encoding", ACCEPT_ENCODING.encode()),
            (b"Connection", b"keep-alive"),
        ]
        self._timeouts: dict[str, float | None] = {
            "connect": cfg.connect_timeout,
            "read": cfg.read_timeout,
            "write": cfg.read_timeout,
            "pool": None,
        }

    async def __aenter__(self) -> Fetcher:
        self._global = asyncio.Semaphore(self.cfg.concurrency)
        await self._transport.__aenter__()
        self._open = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._open:
            self._open = False
            await self._transport.__aexit__(exc_type, exc, tb)

    async def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        max_bytes: int | None = None,
        accept: str = FEED_ACCEPT,
    ) -> FetchResult:
        """GET a URL politely; follow redirects; return what happened as a value."""
        started = time.monotonic()
        headers = {"Accept": accept}
        # Validators echo what a server sent; a non-ASCII one cannot be sent back (httpx raises
        # UnicodeEncodeError), and a stored one would break every later poll (issue 8).
        if etag and _header_safe(etag):
            headers["If-None-Match"] = etag
        if last_modified and _header_safe(last_modified):
            headers["If-Modified-Since"] = last_modified
        limit = max_bytes if max_bytes is not None else self.cfg.max_body_bytes
        current, permanent, seen, hops = url, True, {url}, 0
        try:
            while True:
                hop = await self._hop(current, headers, limit)
                if hop.location is None:
                    break
                hops += 1
                permanent = permanent and hop.code in PERMANENT
                try:
                    target = str(httpx.URL(current).join(hop.location))
                except (httpx.InvalidURL, ValueError) as e:  # "//[::1", a bad IDNA label
                    bad = f"invalid redirect Location {hop.location!r}: {_one_line(e)}"
                    raise _Fail(FetchStatus.HTTP_ERROR, bad, hop.code) from e
                if target in seen:
                    loop = f"redirect loop: {current} -> {target}"
                    raise _Fail(FetchStatus.TOO_MANY_REDIRECTS, loop, hop.code)
                if hops > self.cfg.max_redirects:
                    raise _Fail(
                        FetchStatus.TOO_MANY_REDIRECTS,
                        f"more than {self.cfg.max_redirects} redirects (last to {target})",
                        hop.code,
                    )
                seen.add(target)
                log.debug("redirect url=%s code=%s to=%s", current, hop.code, target)
                current = target
        except _Fail as f:
            return FetchResult(
                url, f.status, final_url=current, http_status=f.code, error=f.error,
                elapsed=time.monotonic() - started,
            )  # fmt: skip
        return self._result(url, current, hop, permanent and hops > 0, started, limit)

    def _result(
        self, url: str, final: str, hop: _Hop, moved: bool, started: float, limit: int
    ) -> FetchResult:
        """Map the last response of a chain to a FetchResult."""
        h = hop.headers
        code = hop.code
        status, error, retry_after = FetchStatus.OK, None, None
        if hop.too_large:
            status, error = FetchStatus.TOO_LARGE, f"body larger than {limit} bytes"
        elif code == 304:
            status = FetchStatus.NOT_MODIFIED
        elif code == 410:
            status, error = FetchStatus.GONE, "HTTP 410 Gone"
        elif code in (429, 503):
            status, error = FetchStatus.RATE_LIMITED, f"HTTP {code} {_reason(code)}"
            retry_after = parse_retry_after(h.get("retry-after"), self._clock())
        elif code >= 300:
            status, error = FetchStatus.HTTP_ERROR, f"HTTP {code} {_reason(code)}"
        elif moved:
            status = FetchStatus.MOVED
        success = status in SUCCESS
        return FetchResult(
            url=url,
            status=status,
            final_url=final,
            http_status=code,
            body=hop.body if status in WITH_BODY else b"",
            content_type=h.get("content-type"),
            headers=tuple((k.lower(), v) for k, v in h.multi_items()),
            etag=h.get("etag"),
            last_modified=h.get("last-modified"),
            permanent_url=final if moved and success else None,
            retry_after=retry_after,
            error=error,
            elapsed=time.monotonic() - started,
        )

    async def _hop(self, url: str, headers: dict[str, str], limit: int) -> _Hop:
        """One request under the host gate and the global semaphore; expected failures as _Fail."""
        try:
            parsed = parse_url(url)  # as httpx.URL would (its host IDNA-decoded, which may raise)
            if parsed.port is not None and not 0 < parsed.port < 65536:
                raise ValueError(f"port {parsed.port} out of range")  # anyio would raise later
        except (httpx.InvalidURL, ValueError) as e:  # ValueError: idna.IDNAError ("http://xn--/")
            raise _Fail(FetchStatus.HTTP_ERROR, f"invalid URL {url!r}: {_one_line(e)}") from e
        if parsed.scheme not in ("http", "https"):
            raise _Fail(FetchStatus.BLOCKED, f"scheme {parsed.scheme or '(none)'!r} is not allowed")
        if not parsed.host:
            raise _Fail(FetchStatus.HTTP_ERROR, f"invalid URL {url!r}: no host")
        gate = self._gate(parsed.host)
        async with gate.sem, self._fleet_slot(parsed.host):
            await self._wait_gap(gate, parsed.host)
            assert self._global is not None and self._open, "use `async with Fetcher`"
            async with self._global:
                gate.active += 1
                seen = self.max_host_concurrency_seen.get(parsed.host, 0)
                self.max_host_concurrency_seen[parsed.host] = max(seen, gate.active)
                try:
                    return await self._send(parsed, headers, limit)
                finally:
                    gate.active -= 1

    def _fleet_slot(self, host: str) -> AbstractAsyncContextManager[object]:
        """The fleet's hold on one of the host's slots, leased past the cap on one hop; or nothing."""
        if self._host_slots is None:
            return nullcontext()
        lease = self.cfg.connect_timeout + 4 * self.cfg.read_timeout + 30.0  # _send's deadline + margin
        return self._host_slots.slot(host, self.cfg.per_host_concurrency, lease)

    async def _send(self, url: Target, headers: dict[str, str], limit: int) -> _Hop:
        # A server that drips one byte per read_timeout would never time out: cap the whole hop.
        deadline = self.cfg.connect_timeout + 4 * self.cfg.read_timeout
        sent = [*self._base_headers, *((k.encode(), v.encode()) for k, v in headers.items())]
        try:
            async with asyncio.timeout(deadline):
                reply = await self._transport.send(url, sent, self._timeouts)
                try:
                    return await self._read(reply, limit, url)
                finally:
                    await reply.aclose()
        except AddressBlocked as e:
            raise _Fail(FetchStatus.BLOCKED, str(e)) from e
        except _TIMEOUTS as e:
            raise _Fail(FetchStatus.TIMEOUT, f"timed out: {_one_line(e)}") from e
        except UnsupportedEncoding as e:
            raise _Fail(FetchStatus.HTTP_ERROR, str(e)) from e
        except _TRANSPORT_ERRORS as e:
            raise _Fail(FetchStatus.CONNECTION_ERROR, f"{type(e).__name__}: {_one_line(e)}") from e
        except DecodeError as e:
            raise _Fail(FetchStatus.CONNECTION_ERROR, f"undecodable body: {_one_line(e)}") from e

    async def _read(self, reply: Reply, limit: int, url: Target) -> _Hop:
        """Read (or skip) the body, counting decoded bytes against the limit."""
        code, h = reply.status, reply.headers
        if not 200 <= code < 300:
            await self._discard(reply, url)
        if code in REDIRECTS and "location" in h:
            return _Hop(code, h, location=h["location"])
        if code in REDIRECTS:
            raise _Fail(FetchStatus.HTTP_ERROR, f"HTTP {code} redirect without Location", code)
        if not 200 <= code < 300:
            return _Hop(code, h)
        declared = h.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            return _Hop(code, h, too_large=True)
        decoder = BodyDecoder(h.get("content-encoding", ""), limit)
        parts: list[bytes] = []
        async for chunk in reply.chunks():
            self.bytes_received += len(chunk)
            parts.append(decoder.feed(chunk))
            if decoder.too_large:
                return _Hop(code, h, too_large=True)
        parts.append(decoder.flush())
        if decoder.too_large:
            return _Hop(code, h, too_large=True)
        return _Hop(code, h, body=b"".join(parts))

    async def _discard(self, reply: Reply, url: Target) -> None:
        """Read the end of a response whose body is not wanted, when it is small (a 304 has none),
        so its connection goes back to the pool: unread, httpcore closes it, and every 304 of a
        re-poll cost a new connection (issue 16).  A large or undeclared body is left unread (the
        connection is closed instead); trouble reading it only costs the connection too."""
        declared = reply.headers.get("content-length", "")
        if reply.status not in (204, 304) and not (
            declared.isdigit() and int(declared) <= _CHUNK
        ):
            return
        try:
            async for chunk in reply.chunks():
                self.bytes_received += len(chunk)
        except (*_TRANSPORT_ERRORS, *_TIMEOUTS[:2]) as e:
            log.debug("url=%s body not read to the end: %s", url.text, _one_line(e))

    def _gate(self, host: str) -> _HostGate:
        gate = self._hosts.get(host)
        if gate is None:
            gate = self._hosts[host] = _HostGate(asyncio.Semaphore(self.cfg.per_host_concurrency))
        return gate

    async def _wait_gap(self, gate: _HostGate, host: str) -> None:
        """Keep at least cfg.min_host_gap seconds between request starts to one host."""
        if self.cfg.min_host_gap <= 0:
            return
        if self._host_slots is not None:  # the start was reserved for the whole fleet
            delay = await self._host_slots(host, self.cfg.min_host_gap)
            if delay > 0:
                await asyncio.sleep(delay)
            return
        loop = asyncio.get_running_loop()
        async with gate.lock:
            now = loop.time()
            start = max(now, gate.next_start)
            gate.next_start = start + self.cfg.min_host_gap
        if start > now:
            await asyncio.sleep(start - now)


def _header_safe(value: str) -> bool:
    return value.isascii() and value.isprintable()


def _reason(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return ""
