"""httpcore's network backend on plain asyncio protocols, for the fetcher's sockets.

httpcore's AnyIO backend wraps every read and write in a cancel scope and every connect in a task
group: a third of the CPU of a conditional GET that comes back 304 (issue 16).  Here a socket is an
``asyncio.Protocol`` with a buffer: a read takes what has arrived without arming a timer, waits
(with one timer) only when nothing has, and a write only waits when the transport asks to pause.
The errors are httpcore's own (``ReadTimeout``, ``ConnectError`` ...), as its callers expect.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore

# Bytes received and not yet read at which the socket stops reading (a body is read in 64 KiB
# chunks and capped by the fetcher; this bounds what a fast server can push ahead of it).
_HIGH_WATER = 1024 * 1024


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        # What arrived and was not read yet, as the transport handed it over: a read of all of it
        # takes the one chunk as it is (no copy), where a bytearray copied every byte twice more.
        self.chunks: list[bytes] = []
        self.size = 0
        self.eof = False
        self.error: BaseException | None = None
        self.paused_reading = False
        self.paused_writing = False
        self.transport: asyncio.Transport | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._drain: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.chunks.append(data)
        self.size += len(data)
        if self.size >= _HIGH_WATER and self.transport is not None:
            self.transport.pause_reading()
            self.paused_reading = True
        self._wake()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake()
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        self.error = exc
        self._wake()
        self.paused_writing = False
        self._wake_drain()

    def pause_writing(self) -> None:
        self.paused_writing = True

    def resume_writing(self) -> None:
        self.paused_writing = False
        self._wake_drain()

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _wake_drain(self) -> None:
        waiter, self._drain = self._drain, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def wait_data(self) -> asyncio.Future[None]:
        self._waiter = asyncio.get_running_loop().create_future()
        return self._waiter

    def wait_drain(self) -> asyncio.Future[None]:
        self._drain = asyncio.get_running_loop().create_future()
        return self._drain


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


async def _within(waiter: asyncio.Future[None], timeout: float | None) -> None:
    """Await the protocol's waiter, or raise TimeoutError after ``timeout`` seconds.

    ``asyncio.wait_for`` wraps it in a second future with its own callbacks: two more trips round
    the event loop per read, on every response (issue 16).  Here the one timer fails the waiter.
    """
    if timeout is None:
        await waiter
        return
    timer = asyncio.get_running_loop().call_later(timeout, _expire, waiter)
    try:
        await waiter
    finally:
        timer.cancel()


class AsyncioStream(httpcore.AsyncNetworkStream):
    def __init__(self, transport: asyncio.Transport, protocol: _Protocol) -> None:
        self._transport, self._protocol = transport, protocol

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        p = self._protocol
        if not p.size and not p.eof:
            try:
                await _within(p.wait_data(), timeout)
            except TimeoutError as e:
                raise httpcore.ReadTimeout("timed out reading") from e
        if p.size:
            chunks = p.chunks
            data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
            if len(data) > max_bytes:
                data, rest = data[:max_bytes], data[max_bytes:]
                p.chunks, p.size = [rest], len(rest)
            else:
                p.chunks, p.size = [], 0
            if p.paused_reading and p.size < _HIGH_WATER // 2:
                p.paused_reading = False
                self._transport.resume_reading()
            return data
        if p.error is not None:
            raise httpcore.ReadError(str(p.error) or type(p.error).__name__)
        return b""

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        p = self._protocol
        if self._transport.is_closing() or p.error is not None:
            raise httpcore.WriteError("the connection is closed")
        self._transport.write(buffer)
        if p.paused_writing:
            try:
                await _within(p.wait_drain(), timeout)
            except TimeoutError as e:
                raise httpcore.WriteTimeout("timed out writing") from e
            if p.error is not None:
                raise httpcore.WriteError(str(p.error))

    async def aclose(self) -> None:
        self._transport.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            transport = await asyncio.wait_for(
                loop.start_tls(
                    self._transport, self._protocol, ssl_context, server_hostname=server_hostname
                ),
                timeout,
            )
        except TimeoutError as e:
            self._transport.close()
            raise httpcore.ConnectTimeout("timed out during the TLS handshake") from e
        except (OSError, ssl.SSLError, ConnectionError) as e:
            self._transport.close()
            raise httpcore.ConnectError(str(e)) from e
        if transport is None:
            raise httpcore.ConnectError("the TLS handshake did not complete")
        assert isinstance(transport, asyncio.Transport)
        self._protocol.transport = transport
        return AsyncioStream(transport, self._protocol)

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object":
            return self._transport.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._transport.get_extra_info("sockname")
        if info == "server_addr":
            return self._transport.get_extra_info("peername")
        if info == "socket":
            return self._transport.get_extra_info("socket")
        if info == "is_readable":  # an idle kept-alive connection with data or EOF is stale
            p = self._protocol
            return bool(p.size) or p.eof
        return None


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """Connect to an address (the caller resolved and checked it) with plain asyncio."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            transport, protocol = await asyncio.wait_for(
                loop.create_connection(
                    _Protocol,
                    host,
                    port,
                    local_addr=(local_address, 0) if local_address else None,
                ),
                timeout,
            )
        except TimeoutError as e:
            raise httpcore.ConnectTimeout(f"timed out connecting to {host}:{port}") from e
        except OSError as e:
            raise httpcore.ConnectError(str(e)) from e
        sock = transport.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        assert isinstance(transport, asyncio.Transport)
        return AsyncioStream(transport, protocol)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not supported")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
