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
from collections.abc import AsyncIterator

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


class Http11:
    """A keep-alive HTTP/1.1 connection over an ``httpcore.AsyncNetworkStream``, one GET at a time."""

    __slots__ = ("_expire_at", "_h11", "_keepalive", "_state", "_stream")

    def __init__(self, stream: httpcore.AsyncNetworkStream, keepalive: float) -> None:
        self._stream = stream
        self._keepalive = keepalive
        self._h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD)
        self._state = _IDLE
        self._expire_at: float | None = None

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
        self._state, self._expire_at = _ACTIVE, None
        try:
            request = h11.Request(method=b"GET", target=target, headers=headers)
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
                    return event.status_code, event.headers.raw_items()
                if not isinstance(event, h11.InformationalResponse):  # 1xx: wait for the answer
                    raise httpcore.RemoteProtocolError(f"unexpected {type(event).__name__}")
        except BaseException:
            await self.aclose()
            raise

    def body(self, timeouts: Timeouts) -> AsyncIterator[bytes]:
        """The response body, as it arrives (after ``get``)."""
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
        conn = self._h11
        if self._state == _ACTIVE and conn.our_state is h11.DONE and conn.their_state is h11.DONE:
            conn.start_next_cycle()
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
