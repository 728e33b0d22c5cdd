"""Response bodies under a size cap, and the Retry-After header.

httpx's own decoders inflate a whole network chunk at once, so a 64 KiB chunk of a gzip bomb
becomes ~64 MiB before anyone can count it.  ``BodyDecoder`` inflates with an output limit instead:
memory stays within ``limit`` bytes whatever the compression ratio.
"""

from __future__ import annotations

import zlib
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Protocol

import brotli


class UnsupportedEncoding(Exception):
    """The server used a Content-Encoding we did not offer."""


class _Stage(Protocol):
    def feed(self, data: bytes, limit: int) -> bytes: ...
    def flush(self, limit: int) -> bytes: ...


class _Zlib:
    """gzip or deflate; deflate may come zlib-wrapped or raw (RFC 9110 §8.4.1.2 vs. practice)."""

    def __init__(self, gzip: bool) -> None:
        self._gzip = gzip
        self._obj = zlib.decompressobj(zlib.MAX_WBITS | 16 if gzip else zlib.MAX_WBITS)
        self._started = False

    def feed(self, data: bytes, limit: int) -> bytes:
        if not self._started and not self._gzip:
            self._started = True
            try:
                return self._obj.decompress(data, limit + 1)
            except zlib.error:
                self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
        self._started = True
        return self._obj.decompress(data, limit + 1)

    def flush(self, limit: int) -> bytes:
        return self._obj.decompress(b"", limit + 1) if self._obj.unconsumed_tail else b""


class _Brotli:
    def __init__(self) -> None:
        self._obj = brotli.Decompressor()

    def feed(self, data: bytes, limit: int) -> bytes:
        out: bytes = self._obj.process(data, output_buffer_limit=limit + 1)
        return out

    def flush(self, limit: int) -> bytes:
        return b""


def _stage(name: str) -> _Stage | None:
    if name in ("gzip", "x-gzip"):
        return _Zlib(gzip=True)
    if name == "deflate":
        return _Zlib(gzip=False)
    if name == "br":
        return _Brotli()
    if name in ("", "identity"):
        return None
    raise UnsupportedEncoding(f"unsupported Content-Encoding {name!r}")


class BodyDecoder:
    """Decode a Content-Encoding chain chunk by chunk; ``too_large`` once past the limit.

    A corrupt body raises ``DecodeError``.
    """

    def __init__(self, content_encoding: str, limit: int) -> None:
        names = [n.strip().lower() for n in content_encoding.split(",") if n.strip()]
        # Encodings are listed in the order applied, so undo them in reverse.
        self._stages = [s for s in (_stage(n) for n in reversed(names)) if s is not None]
        self.limit = limit
        self.size = 0
        self.too_large = False

    def _run(self, data: bytes, final: bool) -> bytes:
        for stage in self._stages:
            try:
                data = stage.feed(data, self.limit) + (stage.flush(self.limit) if final else b"")
            except (zlib.error, brotli.error) as e:
                raise DecodeError(f"cannot decode body: {e}") from e
        self.size += len(data)
        if self.size > self.limit:
            self.too_large = True
            return b""
        return data

    def feed(self, chunk: bytes) -> bytes:
        """Decoded bytes of one raw chunk (empty once the limit is passed)."""
        return b"" if self.too_large else self._run(chunk, final=False)

    def flush(self) -> bytes:
        """Decoded bytes still held by the decoders at the end of the body."""
        return b"" if self.too_large else self._run(b"", final=True)


class DecodeError(Exception):
    """The body does not decode with its declared Content-Encoding."""


def parse_retry_after(value: str | None, now: datetime) -> datetime | None:
    """Retry-After as an aware datetime: delay-seconds or an HTTP-date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return now + timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" means UTC without a claim about local time
        when = when.replace(tzinfo=now.tzinfo)
    return max(when, now)
