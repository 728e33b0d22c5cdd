"""One HTTP/1.1 connection: the fetcher's GETs, the response parsed by llhttp (``httptools``).

httpcore's ``AsyncHTTP11Connection`` wraps each GET in a ``Request`` whose headers and URL are
validated again, a ``Response``, a byte stream, four ``Trace`` contexts and a state lock, and reads
64 KiB at a time; h11 then cost ~0.1 ms of CPU per response in Python (its event objects, header
validation, state machine).  Here a connection sends one GET (the request line and the headers in
one write, each header set validated by h11 once and kept as bytes), and llhttp, the C parser
behind Node.js and uvicorn, in its strict mode, reads the response: the status line, the headers
(at most ``MAX_HEAD`` bytes of them), Content-Length or chunked framing, a body read to the end of
the connection, keep-alive.  Its errors, a head too large, a body cut short, all surface as
httpcore's ``RemoteProtocolError``, which the fetcher maps to one line.  A connection is kept for
the next GET only when its response was read to the end, the server asked for nothing else
(``Connection: close``, HTTP/1.0, a body ended by closing) and sent nothing after it (issue 16).
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import AsyncIterator

import h11
import httpcore
import httptools

# Bytes asked of the socket per read: a page of a few hundred KiB arrives in one or two reads
# (httpcore asks 64 KiB).  The fetcher's size cap still counts every chunk, and the socket stops
# reading ahead at its own high-water mark (``aionet``).
READ_SIZE = 256 * 1024
# The most a response head may take (httpcore's limit): a server that streams headers forever fails.
MAX_HEAD = 100 * 1024

Headers = list[tuple[bytes, bytes]]
Timeouts = dict[str, float | None]

_IDLE, _ACTIVE, _CLOSED = 0, 1, 2


_TARGET = re.compile(rb"[\x21-\x7e]+")  # a request target h11 would send: visible ASCII


class HeaderCache:
    """Request headers as h11 validated them, kept by their raw values as the bytes sent: the
    fetcher sends the same few sets to an origin again and again (its agent, the Accept of a page
    or a feed, the Host), and h11 checks every name and value of every request it is handed raw
    (issue 16).  A set is validated the first time it is seen, by h11 itself, so an invalid one
    still fails there."""

    __slots__ = ("_sets", "_size")

    def __init__(self, size: int = 1024) -> None:
        self._size = size
        self._sets: dict[tuple[tuple[bytes, bytes], ...], bytes] = {}

    def validated(self, headers: Headers) -> bytes:
        """The header lines of the set (each ending in CRLF); h11.LocalProtocolError if invalid."""
        key = tuple(headers)
        found = self._sets.get(key)
        if found is None:
            valid = h11.Request(method=b"GET", target=b"/", headers=headers).headers
            found = b"".join(b"%s: %s\r\n" % (name, value) for name, value in valid.raw_items())
            if len(self._sets) >= self._size:  # validators make some sets one-offs: start again
                self._sets.clear()
            self._sets[key] = found
        return found


class _Response:
    """llhttp's callbacks for one response: its head, the body bytes not handed out yet, its end."""

    __slots__ = (
        "chunks", "complete", "extra", "head_done", "head_size", "headers", "keep_alive",
        "messages", "parser", "status",
    )  # fmt: skip

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.status = 0
        self.headers: Headers = []
        self.head_size = 0  # bytes of header names and values so far
        self.head_done = False
        self.chunks: list[bytes] = []
        self.complete = False
        self.messages = 0
        self.keep_alive = False  # the server lets the connection carry the next exchange
        self.extra = False  # the server sent something after this response: never reuse

    def on_message_begin(self) -> None:
        self.messages += 1
        if self.complete:
            self.extra = True

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self.complete:
            self.head_size += len(name) + len(value) + 4
            self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        if self.complete:
            return
        status = self.parser.get_status_code()
        if status < 200:  # 1xx: an interim answer; the response follows (llhttp reads on)
            self.headers, self.head_size = [], 0
            self.messages -= 1  # the response proper is the one message counted
            return
        self.status, self.head_done = status, True

    def on_body(self, body: bytes) -> None:
        if self.complete:
            self.extra = True
        else:
            self.chunks.append(body)

    def on_message_complete(self) -> None:
        if self.head_done and not self.complete:
            self.complete = True
            # llhttp forgets the message's flags once this returns: ask now.  Its answer (HTTP/1.1
            # without "Connection: close", or 1.0 with keep-alive) is checked against the head too.
            self.keep_alive = self.parser.should_keep_alive() and self._persistent()

    def _persistent(self) -> bool:
        if self.parser.get_http_version() != "1.1":
            return False
        for name, value in self.headers:
            if name.lower() == b"connection" and b"close" in value.lower():
                return False
        return True

    def to_eof(self) -> bool:
        """The body ends when the server closes the connection (no length, not chunked)."""
        for name, value in self.headers:
            lower = name.lower()
            if lower == b"content-length" or (lower == b"transfer-encoding" and b"chunked" in value.lower()):
                return False
        return True


class Http11:
    """A keep-alive HTTP/1.1 connection over an ``httpcore.AsyncNetworkStream``, one GET at a time."""

    __slots__ = ("_expire_at", "_headers", "_keepalive", "_response", "_state", "_stream")

    def __init__(
        self,
        stream: httpcore.AsyncNetworkStream,
        keepalive: float,
        headers: HeaderCache | None = None,
    ) -> None:
        self._stream = stream
        self._headers = headers if headers is not None else HeaderCache(size=16)
        self._keepalive = keepalive
        self._state = _IDLE
        self._expire_at: float | None = None
        self._response: _Response | None = None

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
        self._state, self._expire_at, self._response = _ACTIVE, None, None
        try:
            if not _TARGET.fullmatch(target):
                raise h11.LocalProtocolError(f"Illegal target characters in {target!r}")
            lines = self._headers.validated(headers)
        except h11.LocalProtocolError as e:
            await self.aclose()
            raise httpcore.LocalProtocolError(str(e)) from e
        response = self._response = _Response()
        try:
            # As httpcore: a server may close early and still answer (a 4xx, say): read it.
            with contextlib.suppress(httpcore.WriteError):
                await self._stream.write(
                    b"GET %s HTTP/1.1\r\n%s\r\n" % (target, lines), timeouts.get("write")
                )
            timeout = timeouts.get("read")
            received = 0
            while not response.head_done:
                data = await self._stream.read(READ_SIZE, timeout)
                if not data:
                    if received:
                        raise httpcore.RemoteProtocolError(
                            "peer closed connection without sending a complete response head"
                        )
                    raise httpcore.RemoteProtocolError("Server disconnected without sending a response.")
                received += len(data)
                self._feed(response, data)
                if not response.head_done and received > MAX_HEAD:
                    raise httpcore.RemoteProtocolError(f"response head larger than {MAX_HEAD} bytes")
            if response.head_size > MAX_HEAD:
                raise httpcore.RemoteProtocolError(f"response head larger than {MAX_HEAD} bytes")
            return response.status, response.headers
        except BaseException:
            await self.aclose()
            raise

    @staticmethod
    def _feed(response: _Response, data: bytes) -> None:
        try:
            response.parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as e:
            if response.complete:  # garbage after the response: it stands, the connection does not
                response.extra = True
                return
            raise httpcore.RemoteProtocolError(f"invalid HTTP response: {_why(e)}") from e

    def body(self, timeouts: Timeouts) -> AsyncIterator[bytes]:
        """The response body, as it arrives (after ``get``)."""
        assert self._response is not None, "body() after get()"
        return _Body(self, self._response, timeouts.get("read"))

    async def _more(self, response: _Response, timeout: float | None) -> None:
        """Read and parse what the server sends next; at its end of the connection, end the
        body that runs to it, or fail the one cut short."""
        data = await self._stream.read(READ_SIZE, timeout)
        if data:
            self._feed(response, data)
            return
        if response.to_eof():
            response.complete, response.extra = True, True  # complete, and no next exchange
            return
        raise httpcore.RemoteProtocolError("peer closed connection without sending complete message body")

    async def release(self) -> None:
        """After a response: idle (kept alive) when the exchange completed, else closed."""
        r, self._response = self._response, None
        done = (
            self._state == _ACTIVE
            and r is not None
            and r.complete
            and not r.chunks
            and not r.extra
            and r.messages == 1
            and r.keep_alive
        )
        if done:
            self._state = _IDLE
            self._expire_at = time.monotonic() + self._keepalive
        elif self._state != _CLOSED:
            await self.aclose()

    async def aclose(self) -> None:
        self._state = _CLOSED
        await self._stream.aclose()


def _why(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__


class _Body:
    """An async iterator over a response's body chunks (a class: nothing for the loop to finalize);
    the connection closes on any error."""

    __slots__ = ("_conn", "_response", "_timeout")

    def __init__(self, conn: Http11, response: _Response, timeout: float | None) -> None:
        self._conn, self._response, self._timeout = conn, response, timeout

    def __aiter__(self) -> _Body:
        return self

    async def __anext__(self) -> bytes:
        r = self._response
        try:
            while not r.chunks:
                if r.complete:
                    raise StopAsyncIteration
                await self._conn._more(r, self._timeout)
        except StopAsyncIteration:
            raise
        except BaseException:
            r.complete, r.extra = True, True
            await self._conn.aclose()
            raise
        chunks = r.chunks
        if len(chunks) == 1:
            chunk = chunks[0]
            chunks.clear()
            return chunk
        r.chunks = []
        return b"".join(chunks)
