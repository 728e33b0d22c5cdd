"""Issue 16: a page goes to its worker as a small header and then its bytes as they are (not
pickled into one message); every byte, the URL, the content type and the date flag arrive intact,
pages of every size and pipelined pages included, on real worker processes."""

from __future__ import annotations

import asyncio
import hashlib
import random

from tests.extract_helpers import echo_extract
from watcher.config import ExtractConfig
from watcher.extract_pool import ExtractPool


def test_pages_arrive_whole_with_their_header_through_pipelined_workers() -> None:
    rng = random.Random(16)
    sizes = [1, 2, 255, 16_383, 16_384, 16_385, 70_000, 300_000, 3_000_000]
    pages = [bytes(rng.getrandbits(8) for _ in range(n)) if n < 100_000 else rng.randbytes(n) for n in sizes]
    pages += [bytes(range(256)) * 40, b"\x00" * 5, b"<html>" + "ё".encode() * 9_000]
    cases = [
        (page, f"http://127.0.0.1/p/{i}?q=ü", None if i % 3 == 0 else f"text/html; v={i}", i % 2 == 1)
        for i, page in enumerate(pages)
    ]

    async def run() -> list[str]:
        cfg = ExtractConfig(max_html_bytes=4 * 1024 * 1024, timeout=60)
        async with ExtractPool(cfg, workers=2, extractor=echo_extract) as pool:
            got = await asyncio.gather(*(pool.extract(h, u, c, dated=d) for h, u, c, d in cases * 2))
        assert all(a.status == "ok" for a in got), [a.error for a in got if a.status != "ok"]
        return [a.text for a in got]

    texts = asyncio.run(run())
    expected = [f"{hashlib.sha256(h).hexdigest()} {len(h)} {u} {c} {d}" for h, u, c, d in cases * 2]
    assert texts == expected
