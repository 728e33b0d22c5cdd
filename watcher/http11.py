"""One HTTP/1.1 connection, h11 driven directly: the fetcher's GETs without httpcore's request layer.

httpcore's ``AsyncHTTP11Connection`` wraps each GET in a ``Request`` whose headers and URL are
validated again, a ``Response``, a byte stream, four ``Trace`` contexts and a state lock, and reads
64 KiB at a time: together half of the main process's CPU per article page outside scoring
(issue 16).  Here a connection sends one GET (the request line and headers in one write), reads the
response head, then hands out the body as it arrives, in reads of up to ``READ_SIZE``; h11 still
parses every byte the server sends (status line, headers, Content-Length, chunked framing,
keep-alive), and its protocol errors surface as httpcore's, which the fetcher maps to one line.
A connection whose response was not read to the end is closed, never reused.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Sequence

import h11
import httpcore

# Bytes asked of the socket per read: a page of a few hundred KiB arrives in one or two h11 events
# (httpcore asks 64 KiB).  The fetcher's size cap still counts every chunk, and the socket stops
# reading ahead at its own high-water mark (``aionet``).
READ_SIZE = 256 * 1024
# The most a response head may take (httpcore's limit): a server that streams headers forever fails.
MAX_HEAD = 100 * 1024

Headers = list[tuple[bytes, bytes]]
Timeouts = dict[str, float | None]

_IDLE, _ACTIVE, _CLOSED = 0, 1, 2


class HeaderCache:
    """Request headers as h11 validated them, kept by their raw values: the fetcher sends the same
    few sets to an origin again and again (its agent, the Accept of a page or a feed, the Host),
    and h11 checks every name and value of every request it is handed raw (issue 16).  A set is
    validated the first time it is seen, by h11 itself, so an invalid one still fails there."""

    __slots__ = ("_sets", "_size")

    def __init__(self, size: int = 1024) -> None:
        self._size = size
        self._sets: dict[tuple[tuple[bytes, bytes], ...], Sequence[tuple[bytes, bytes]]] = {}

    def validated(self, headers: Headers) -> Sequence[tuple[bytes, bytes]]:
        key = tuple(headers)
        found = self._sets.get(key)
        if found is None:
            found = h11.Request(method=b"GET", target=b"/", headers=headers).headers
            if len(self._sets) >= self._size:  # validators make some sets one-offs: start again
                self._sets.clear()
            self._sets[key] = found
        return found


class Http11:
    """A keep-alive HTTP/1.1 connection over an ``httpcore.AsyncNetworkStream``, one GET at a time."""

    __slots__ = ("_direct", "_expire_at", "_h11", "_headers", "_keepalive", "_state", "_stream")

    def __init__(
        self,
        stream: httpcore.AsyncNetworkStream,
        keepalive: float,
        headers: HeaderCache | None = None,
    ) -> None:
        self._stream = stream
        self._headers = headers
        self._keepalive = keepalive
        self._h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD)
        self._state = _IDLE
        self._expire_at: float | None = None
        self._direct: _Direct | None = None  # a Content-Length body read past h11 (see _Direct)

    def is_idle(self) -> bool:
        return self._state == _IDLE

    def is_closed(self) -> bool:
        return self._state == _CLOSED

    def has_expired(self) -> bool:
        """Past the keep-alive expiry, or the server sent something (EOF) while it was idle."""
        if self._expire_at is not None and time.monotonic() > self._expire_at:
            return True
        return self._state == _IDLE and bool(self._stream.get_extra_info("is_readable"))

    async def get(self, target: bytes, headers: Headers, timeouts: Timeouts) -> tuple[int, Headers]:
        """Send a GET and read the response head: (status, raw headers).  Read the body with
        ``body`` and end with ``release`` (also after an error: it closes what cannot be reused)."""
        if self._state != _IDLE:
            raise httpcore.ConnectionNotAvailable()
        self._state, self._expire_at, self._direct = _ACTIVE, None, None
        try:
            cache = self._headers
            valid = cache.validated(headers) if cache is not None else headers
            request = h11.Request(method=b"GET", target=target, headers=valid)  # type: ignore[arg-type]
            data = self._h11.send(request) or b""
            data += self._h11.send(h11.EndOfMessage()) or b""
        except h11.LocalProtocolError as e:
            await self.aclose()
            raise httpcore.LocalProtocolError(str(e)) from e
        try:
            # As httpcore: a server may close early and still answer (a 4xx, say): read it.
            with contextlib.suppress(httpcore.WriteError):
                await self._stream.write(data, timeouts.get("write"))
            timeout = timeouts.get("read")
            while True:
                event = await self._event(timeout)
                if isinstance(event, h11.Response):
                    self._direct = _Direct.framing(event, self._h11)
                    return event.status_code, event.headers.raw_items()
                if not isinstance(event, h11.InformationalResponse):  # 1xx: wait for the answer
                    raise httpcore.RemoteProtocolError(f"unexpected {type(event).__name__}")
        except BaseException:
            await self.aclose()
            raise

    def body(self, timeouts: Timeouts) -> AsyncIterator[bytes]:
        """The response body, as it arrives (after ``get``)."""
        if self._direct is not None:
            return _DirectBody(self, self._direct, timeouts.get("read"))
        return _Body(self, timeouts.get("read"))

    async def _event(self, timeout: float | None) -> h11.Event | type[h11.PAUSED]:
        conn = self._h11
        while True:
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError as e:
                raise httpcore.RemoteProtocolError(str(e)) from e
            if event is not h11.NEED_DATA:
                return event  # type: ignore[return-value]
            data = await self._stream.read(READ_SIZE, timeout)
            if not data and conn.their_state is h11.SEND_RESPONSE:
                raise httpcore.RemoteProtocolError("Server disconnected without sending a response.")
            conn.receive_data(data)

    async def release(self) -> None:
        """After a response: idle (kept alive) when the exchange completed, else closed."""
        conn, direct = self._h11, self._direct
        if direct is not None:  # h11 saw the head only: a fresh one for the next exchange
            done = self._state == _ACTIVE and direct.left == 0 and direct.reusable
            if done:
                self._h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD)
        else:
            done = self._state == _ACTIVE and conn.our_state is h11.DONE
            done = done and conn.their_state is h11.DONE
            if done:
                conn.start_next_cycle()
        self._direct = None
        if done:
            self._state = _IDLE
            self._expire_at = time.monotonic() + self._keepalive
        elif self._state != _CLOSED:
            await self.aclose()

    async def aclose(self) -> None:
        self._state = _CLOSED
        await self._stream.aclose()


class _Body:
    """An async iterator over a response's body chunks (a class: nothing for the loop to finalize)."""

    __slots__ = ("_conn", "_done", "_timeout")

    def __init__(self, conn: Http11, timeout: float | None) -> None:
        self._conn, self._timeout, self._done = conn, timeout, False

    def __aiter__(self) -> _Body:
        return self

    async def __anext__(self) -> bytes:
        if self._done:
            raise StopAsyncIteration
        conn = self._conn
        try:
            while True:
                event = await conn._event(self._timeout)
                if isinstance(event, h11.Data):
                    return bytes(event.data)
                if isinstance(event, h11.EndOfMessage) or event is h11.PAUSED:
                    self._done = True
                    raise StopAsyncIteration
        except StopAsyncIteration:
            raise
        except BaseException:
            self._done = True
            await conn.aclose()
            raise


class _Direct:
    """A body framed by Content-Length, read straight from the stream once h11 has parsed the
    head: h11 would copy it twice more and wrap every read in an event (issue 16).  Only for the
    simplest framing (one Content-Length, no Transfer-Encoding, a status that has a body); the
    exchange ends after exactly that many bytes, and anything else the server sent (bytes past
    the body, ``Connection: close``, HTTP/1.0) means the connection is not reused."""

    __slots__ = ("left", "pending", "reusable")

    def __init__(self, length: int, pending: bytes, reusable: bool) -> None:
        self.left, self.pending, self.reusable = length, pending, reusable

    @staticmethod
    def framing(event: h11.Response, conn: h11.Connection) -> _Direct | None:
        if event.status_code in (204, 304) or event.status_code < 200:
            return None
        lengths: list[bytes] = []
        reusable = event.http_version >= b"1.1"
        for name, value in event.headers:
            if name == b"transfer-encoding":
                return None  # chunked: h11 reads it
            if name == b"content-length":
                lengths.append(value)
            elif name == b"connection" and b"close" in value.lower():
                reusable = False
        if not lengths:
            return None  # read to the end of the connection: h11 does it
        length = int(lengths[0])  # h11 checked they agree and are digits
        pending, closed = conn.trailing_data
        if len(pending) > length:  # the server sent more than the body: no next exchange
            pending, reusable = pending[:length], False
        return _Direct(length, pending, reusable and not closed)


class _DirectBody:
    """The chunks of a ``_Direct`` body; the connection closes on any error or a short body."""

    __slots__ = ("_conn", "_direct", "_timeout")

    def __init__(self, conn: Http11, direct: _Direct, timeout: float | None) -> None:
        self._conn, self._direct, self._timeout = conn, direct, timeout

    def __aiter__(self) -> _DirectBody:
        return self

    async def __anext__(self) -> bytes:
        d = self._direct
        if d.pending:
            chunk, d.pending = d.pending, b""
            d.left -= len(chunk)
            return chunk
        if d.left <= 0:
            raise StopAsyncIteration
        try:
            chunk = await self._conn._stream.read(min(READ_SIZE, d.left), self._timeout)
        except BaseException:
            await self._conn.aclose()
            raise
        if not chunk:
            await self._conn.aclose()
            raise httpcore.RemoteProtocolError(
                f"peer closed connection without sending complete message body: "
                f"{d.left} of the declared bytes missing"
            )
        d.left -= len(chunk)
        return chunk
